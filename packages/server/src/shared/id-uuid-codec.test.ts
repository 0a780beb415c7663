import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isId } from '@runyard/protocol';
import { newId } from '../core/ids.ts';
import { idToUuid, isUuidShaped, uuidToId } from './id-uuid-codec.ts';

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';

describe('the id ↔ uuid codec', () => {
  it('maps known values exactly', () => {
    expect(idToUuid('agt_00000000000000000000000000')).toBe('00000000-0000-0000-0000-000000000000');
    expect(idToUuid('agt_00000000000000000000000001')).toBe('00000000-0000-0000-0000-000000000001');
    expect(idToUuid('run_0000000000000000000000000z')).toBe('00000000-0000-0000-0000-00000000001f');
    // 26 base32 digits, the first below 8: exactly 2^128 − 1 at the top.
    expect(idToUuid('thr_7zzzzzzzzzzzzzzzzzzzzzzzzz')).toBe('ffffffff-ffff-ffff-ffff-ffffffffffff');
    expect(uuidToId('thread', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF')).toBe('thr_7zzzzzzzzzzzzzzzzzzzzzzzzz');
    expect(uuidToId('agent', '00000000-0000-0000-0000-000000000020')).toBe('agt_00000000000000000000000010');
  });

  it('round-trips ids issued now and far in the future', () => {
    for (const now of [Date.now(), 0, Date.UTC(3000, 0, 1), 2 ** 47]) {
      for (const kind of ['agent', 'run', 'thread'] as const) {
        const id = newId(kind, now);
        const uuid = idToUuid(id);
        expect(isUuidShaped(uuid)).toBe(true);
        expect(uuid).toBe(uuid.toLowerCase());
        expect(uuidToId(kind, uuid)).toBe(id);
      }
    }
  });

  it('is a bijection between uuids and ids whose first character is below 8', () => {
    const uuid = fc
      .uint8Array({ minLength: 16, maxLength: 16 })
      .map((bytes) => Buffer.from(bytes).toString('hex'))
      .map(
        (hex) =>
          `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
      );
    fc.assert(
      fc.property(uuid, (value) => {
        const id = uuidToId('run', value);
        expect(id !== undefined && isId('run', id)).toBe(true);
        expect(idToUuid(id ?? '')).toBe(value);
      }),
    );
    const body = fc
      .tuple(
        fc.constantFrom(...alphabet.slice(0, 8)),
        fc.array(fc.constantFrom(...alphabet), { minLength: 25, maxLength: 25 }),
      )
      .map(([first, rest]) => `agt_${first}${rest.join('')}`);
    fc.assert(
      fc.property(body, (id) => {
        expect(uuidToId('agent', idToUuid(id))).toBe(id);
      }),
    );
  });

  it('refuses what it cannot encode or decode', () => {
    expect(() => idToUuid('agt_80000000000000000000000000')).toThrow(/128 bits/);
    expect(() => idToUuid('agt_short')).toThrow(/not a Runyard id/);
    expect(() => idToUuid('agt_0000000000000000000000000u')).toThrow(/not a Runyard id/);
    expect(() => idToUuid('00000000000000000000000000')).toThrow(/not a Runyard id/);
    for (const value of [
      '',
      'not-a-uuid',
      '00000000-0000-0000-0000-00000000000',
      '00000000000000000000000000000000',
    ]) {
      expect(uuidToId('agent', value)).toBeUndefined();
    }
    expect(uuidToId('agent', 'g0000000-0000-0000-0000-000000000000')).toBeUndefined();
  });
});
