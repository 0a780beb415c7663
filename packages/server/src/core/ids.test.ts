import { idPattern, idPrefixes, isId, type IdKind } from '@runyard/protocol';
import { describe, expect, it } from 'vitest';
import { newId } from './ids.ts';

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
const kinds = Object.keys(idPrefixes) as IdKind[];

/** The milliseconds encoded in an id's first 10 body characters. */
function decodeTime(id: string): number {
  const body = id.slice(id.indexOf('_') + 1, id.indexOf('_') + 11);
  return [...body].reduce((value, character) => value * 32 + alphabet.indexOf(character), 0);
}

describe('newId', () => {
  it('matches the protocol id pattern of every kind, and only of its own kind', () => {
    for (const kind of kinds) {
      const id = newId(kind);
      expect(id).toMatch(idPattern(kind));
      expect(isId(kind, id)).toBe(true);
      expect(id.startsWith(`${idPrefixes[kind]}_`)).toBe(true);
      for (const other of kinds)
        if (idPrefixes[other] !== idPrefixes[kind]) expect(isId(other, id)).toBe(false);
    }
  });

  it('uses Crockford base32 only (no i, l, o, u) and 26 body characters', () => {
    const bodies = Array.from({ length: 300 }, () => newId('agent').slice(4)).join('');
    expect(bodies).toMatch(/^[0-9a-hjkmnp-tv-z]+$/);
    expect(bodies).toHaveLength(300 * 26);
  });

  it('encodes the creation time in its first 10 characters', () => {
    for (const now of [0, 1, 31, 32, 1_700_000_000_000, Date.UTC(9999, 11, 31)]) {
      const id = newId('workspace', now);
      expect(decodeTime(id)).toBe(now);
      expect(id).toMatch(idPattern('workspace'));
    }
    const before = Date.now();
    const time = decodeTime(newId('secret'));
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });

  it('sorts as text in creation order', () => {
    const instants = Array.from({ length: 500 }, () => Math.floor(Math.random() * 2 ** 44));
    instants.push(0, 31, 32, 1023, 1024, 2 ** 44);
    const unique = [...new Set(instants)];
    const ids = unique.map((now) => ({ now, id: newId('agent', now) }));
    const byText = [...ids].sort((left, right) => (left.id < right.id ? -1 : left.id > right.id ? 1 : 0));
    const byTime = [...ids].sort((left, right) => left.now - right.now);
    expect(byText.map((entry) => entry.id)).toEqual(byTime.map((entry) => entry.id));
    // Consecutive milliseconds, too.
    const start = Date.now();
    const sequence = Array.from({ length: 100 }, (_, index) => newId('apiKey', start + index));
    expect([...sequence].sort()).toEqual(sequence);
  });

  it('differs within the same millisecond', () => {
    const now = Date.now();
    const ids = Array.from({ length: 1000 }, () => newId('provider', now));
    expect(new Set(ids).size).toBe(1000);
    expect(new Set(ids.map((id) => id.slice(0, 14))).size).toBe(1);
  });
});
