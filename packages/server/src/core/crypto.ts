import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Encrypts secret values with AES-256-GCM under the instance master key. Each value has its own
 * random 96-bit nonce; the workspace id and secret name are bound as associated data, so a
 * ciphertext copied to another row does not decrypt.
 */
export class SecretBox {
  private readonly encryptionKey: Buffer;
  private readonly fingerprintKey: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
    this.encryptionKey = createHmac('sha256', masterKey).update('runyard/secret-encryption').digest();
    this.fingerprintKey = createHmac('sha256', masterKey).update('runyard/secret-fingerprint').digest();
  }

  encrypt(plaintext: string, associatedData: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, nonce);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `v1.${Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  decrypt(sealed: string, associatedData: string): string {
    if (!sealed.startsWith('v1.')) throw new Error('unknown ciphertext format');
    const bytes = Buffer.from(sealed.slice(3), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  }

  /** Keyed, so a fingerprint reveals nothing about the value without the master key. */
  fingerprint(plaintext: string): string {
    return `fp_${createHmac('sha256', this.fingerprintKey).update(plaintext, 'utf8').digest('hex').slice(0, 16)}`;
  }

  /** A value stored with the database to detect a master key that does not match it. */
  keyCheck(): string {
    return createHmac('sha256', this.fingerprintKey).update('runyard/key-check').digest('hex');
  }
}

/** The master key from RUNYARD_MASTER_KEY, else `<dataDir>/master.key`, generated (0600) on first start. */
export function loadMasterKey(masterKeyHex: string | undefined, dataDir: string): Buffer {
  if (masterKeyHex !== undefined) return Buffer.from(masterKeyHex, 'hex');
  const file = path.join(dataDir, 'master.key');
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const text = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`${file} does not hold a 64-character hex master key`);
  return Buffer.from(text, 'hex');
}

const keyAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `ry_` and 40 random base62 characters (about 238 bits). */
export function generateApiKey(): string {
  // 248 is the largest multiple of 62 below 256: rejecting larger bytes keeps the choice uniform.
  let key = 'ry_';
  while (key.length < 43) {
    for (const byte of randomBytes(48)) {
      if (byte < 248 && key.length < 43) key += keyAlphabet[byte % 62]!;
    }
  }
  return key;
}

/** API keys carry enough entropy that one fast hash is safe and keeps authentication cheap. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * The callback signing secret of a run started by a client that cannot send one (Make's run body
 * has no such field): hex HMAC-SHA256 keyed with the API key the client called with, over a fixed
 * label. The client computes it from the key it already holds; the key itself is never stored, and
 * the secret (sealed on the run like any `callbackSecret`) does not reveal it.
 */
export function callbackSecretOfApiKey(key: string): string {
  return createHmac('sha256', key).update('runyard/callback-secret', 'utf8').digest('hex');
}

export function apiKeyPrefix(key: string): string {
  return key.slice(0, 10);
}

export function constantTimeEqual(left: string, right: string): boolean {
  const a = Buffer.from(left);
  const b = Buffer.from(right);
  return a.length === b.length && timingSafeEqual(a, b);
}

export { canonicalJson } from '../shared/canonical-json.ts';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
