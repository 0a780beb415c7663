import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SecretBox,
  apiKeyPrefix,
  canonicalJson,
  constantTimeEqual,
  generateApiKey,
  hashApiKey,
  loadMasterKey,
  sha256Hex,
} from './crypto.ts';

const masterKey = Buffer.alloc(32, 7);
const otherMasterKey = Buffer.alloc(32, 8);
const boundTo = 'ws_1/OPENAI_KEY';

/** The sealed value with one byte of its decoded body flipped. */
function flipByte(sealed: string, index: number): string {
  const bytes = Buffer.from(sealed.slice(3), 'base64');
  bytes[index] = bytes[index]! ^ 0x01;
  return `v1.${bytes.toString('base64')}`;
}

describe('SecretBox', () => {
  it('needs a 32-byte master key', () => {
    expect(() => new SecretBox(Buffer.alloc(16))).toThrow('32 bytes');
    expect(() => new SecretBox(Buffer.alloc(33))).toThrow('32 bytes');
  });

  it('round-trips any text, and never repeats a ciphertext', () => {
    const box = new SecretBox(masterKey);
    for (const plaintext of ['sk-live-123', '', 'Grüße 🚀 "quoted"\n', 'x'.repeat(10_000)]) {
      const sealed = box.encrypt(plaintext, boundTo);
      expect(sealed).toMatch(/^v1\.[A-Za-z0-9+/]+=*$/);
      expect(sealed).not.toContain(plaintext === '' ? '\u0000' : plaintext);
      expect(box.decrypt(sealed, boundTo)).toBe(plaintext);
      // A fresh box over the same master key (the next process start) decrypts it too.
      expect(new SecretBox(Buffer.from(masterKey)).decrypt(sealed, boundTo)).toBe(plaintext);
    }
    const first = box.encrypt('same', boundTo);
    const second = box.encrypt('same', boundTo);
    expect(first).not.toBe(second);
    // 12-byte nonce + 16-byte tag + body.
    expect(Buffer.from(first.slice(3), 'base64')).toHaveLength(12 + 16 + 4);
  });

  it('detects tampering with the nonce, the tag or the body', () => {
    const box = new SecretBox(masterKey);
    const sealed = box.encrypt('sk-live-123', boundTo);
    for (const index of [0, 11, 12, 27, 28, 38]) {
      expect(() => box.decrypt(flipByte(sealed, index), boundTo)).toThrow();
    }
    const bytes = Buffer.from(sealed.slice(3), 'base64');
    expect(() =>
      box.decrypt(`v1.${bytes.subarray(0, bytes.length - 1).toString('base64')}`, boundTo),
    ).toThrow();
    expect(() =>
      box.decrypt(`v1.${Buffer.concat([bytes, Buffer.from([0])]).toString('base64')}`, boundTo),
    ).toThrow();
    expect(() => box.decrypt(`v2.${sealed.slice(3)}`, boundTo)).toThrow('unknown ciphertext format');
    expect(() => box.decrypt('sk-live-123', boundTo)).toThrow('unknown ciphertext format');
  });

  it('binds a ciphertext to its associated data and its master key', () => {
    const box = new SecretBox(masterKey);
    const sealed = box.encrypt('sk-live-123', 'ws_1/OPENAI_KEY');
    expect(() => box.decrypt(sealed, 'ws_2/OPENAI_KEY')).toThrow();
    expect(() => box.decrypt(sealed, 'ws_1/OTHER_KEY')).toThrow();
    expect(() => box.decrypt(sealed, '')).toThrow();
    expect(() => new SecretBox(otherMasterKey).decrypt(sealed, 'ws_1/OPENAI_KEY')).toThrow();
    expect(box.decrypt(sealed, 'ws_1/OPENAI_KEY')).toBe('sk-live-123');
  });

  it('fingerprints are stable, short, keyed and reveal nothing plain', () => {
    const box = new SecretBox(masterKey);
    const fingerprint = box.fingerprint('sk-live-123');
    expect(fingerprint).toMatch(/^fp_[0-9a-f]{16}$/);
    expect(box.fingerprint('sk-live-123')).toBe(fingerprint);
    expect(new SecretBox(Buffer.from(masterKey)).fingerprint('sk-live-123')).toBe(fingerprint);
    expect(box.fingerprint('sk-live-124')).not.toBe(fingerprint);
    // Keyed: another master key gives another fingerprint, and it is not a plain hash of the value.
    expect(new SecretBox(otherMasterKey).fingerprint('sk-live-123')).not.toBe(fingerprint);
    expect(fingerprint.slice(3)).not.toBe(sha256Hex('sk-live-123').slice(0, 16));
  });

  it('key checks match for the same master key only', () => {
    const check = new SecretBox(masterKey).keyCheck();
    expect(check).toMatch(/^[0-9a-f]{64}$/);
    expect(new SecretBox(Buffer.from(masterKey)).keyCheck()).toBe(check);
    expect(new SecretBox(otherMasterKey).keyCheck()).not.toBe(check);
  });
});

describe('loadMasterKey', () => {
  const directories: string[] = [];
  const temporary = () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'runyard-master-key-'));
    directories.push(directory);
    return directory;
  };
  afterEach(() => {
    for (const directory of directories.splice(0)) fs.rmSync(directory, { recursive: true, force: true });
  });

  it('uses RUNYARD_MASTER_KEY when given, without touching the data dir', () => {
    const dataDir = path.join(temporary(), 'data');
    const hex = randomBytes(32).toString('hex');
    expect(loadMasterKey(hex, dataDir).toString('hex')).toBe(hex);
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('generates <dataDir>/master.key readable by the owner only, then reuses it', () => {
    const dataDir = path.join(temporary(), 'nested', 'data');
    const key = loadMasterKey(undefined, dataDir);
    expect(key).toHaveLength(32);
    const file = path.join(dataDir, 'master.key');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toBe(`${key.toString('hex')}\n`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dataDir).mode & 0o077).toBe(0);

    expect(loadMasterKey(undefined, dataDir).equals(key)).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    expect(loadMasterKey(undefined, temporary()).equals(key)).toBe(false);
  });

  it('accepts an existing key file in either case and rejects a damaged one', () => {
    const dataDir = temporary();
    const hex = randomBytes(32).toString('hex').toUpperCase();
    fs.writeFileSync(path.join(dataDir, 'master.key'), `  ${hex}\n\n`);
    expect(loadMasterKey(undefined, dataDir).toString('hex')).toBe(hex.toLowerCase());
    fs.writeFileSync(path.join(dataDir, 'master.key'), 'not a key\n');
    expect(() => loadMasterKey(undefined, dataDir)).toThrow(
      `${path.join(dataDir, 'master.key')} does not hold a 64-character hex master key`,
    );
  });
});

describe('API keys', () => {
  it('are ry_ and 40 base62 characters, each one new', () => {
    const keys = Array.from({ length: 500 }, () => generateApiKey());
    for (const key of keys) expect(key).toMatch(/^ry_[A-Za-z0-9]{40}$/);
    expect(new Set(keys).size).toBe(keys.length);
    // Every character of the alphabet shows up: no symbol is left out by the rejection sampling.
    expect(new Set(keys.join('').replaceAll('ry_', '')).size).toBe(62);
  });

  it('show a 10-character prefix and store a sha-256 hash', () => {
    const key = generateApiKey();
    expect(apiKeyPrefix(key)).toBe(key.slice(0, 10));
    expect(apiKeyPrefix(key)).toMatch(/^ry_[A-Za-z0-9]{7}$/);
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hashApiKey(key));
    expect(hashApiKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashApiKey(`${key}x`)).not.toBe(hashApiKey(key));
    expect(hashApiKey(key)).not.toContain(key);
  });

  it('compares secrets in constant time', () => {
    expect(constantTimeEqual('same', 'same')).toBe(true);
    expect(constantTimeEqual('same', 'sane')).toBe(false);
    expect(constantTimeEqual('short', 'longer')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});

describe('canonical JSON and hashing', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('sha256Hex matches the standard test vector', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
