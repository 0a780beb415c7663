import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isId } from '@runyard/protocol';
import { newId } from '../core/ids.ts';
import { idToUuid, isRfc9562Uuid, isUuidShaped, uuidToId } from './id-uuid-codec.ts';

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
/** What a strict uuid validator accepts: version 1–8, variant 10xx. */
const strictUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

const asUuid = (hex: string) =>
  `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

describe('the id ↔ uuid codec', () => {
  it('maps known values exactly, as version 8 uuids with the RFC 9562 variant', () => {
    // The smallest and largest encodable bodies: clock 2^36 ms and 2^42 ms − 1.
    expect(idToUuid('agt_00200000000000000000000000')).toBe('04000000-0000-8000-8000-000000000000');
    expect(idToUuid('run_03zzzzzzzzzzzzzzzzzzzzzzzz')).toBe('ffffffff-ffff-8fff-bfff-ffffffffffff');
    expect(uuidToId('run', 'FFFFFFFF-FFFF-8FFF-BFFF-FFFFFFFFFFFF')).toBe('run_03zzzzzzzzzzzzzzzzzzzzzzzz');
    expect(idToUuid('thr_00200000000000000000000001')).toBe('04000000-0000-8000-8000-000000000001');
  });

  it('round-trips ids issued from 1972 until 2109, and only those', () => {
    for (const now of [Date.now(), Date.UTC(1972, 2, 7), Date.UTC(2109, 4, 14), 2 ** 36, 2 ** 42 - 1]) {
      for (const kind of ['agent', 'run', 'thread'] as const) {
        const id = newId(kind, now);
        const uuid = idToUuid(id);
        expect(uuid).toMatch(strictUuid);
        expect(isRfc9562Uuid(uuid)).toBe(true);
        expect(uuid).toBe(uuid.toLowerCase());
        expect(uuidToId(kind, uuid)).toBe(id);
      }
    }
    for (const now of [0, 2 ** 36 - 1, 2 ** 42, Date.UTC(3000, 0, 1)]) {
      expect(() => idToUuid(newId('agent', now))).toThrow(/does not fit in a uuid/);
    }
  });

  it('is a bijection between version 8 uuids (top 6 bits not zero) and the ids of those years', () => {
    const uuid = fc
      .uint8Array({ minLength: 16, maxLength: 16 })
      .filter((bytes) => bytes[0]! >> 2 !== 0)
      .map((bytes) => {
        const copy = Buffer.from(bytes);
        copy[6] = (copy[6]! & 0x0f) | 0x80;
        copy[8] = (copy[8]! & 0x3f) | 0x80;
        return asUuid(copy.toString('hex'));
      });
    fc.assert(
      fc.property(uuid, (value) => {
        const id = uuidToId('run', value);
        expect(id !== undefined && isId('run', id)).toBe(true);
        expect(idToUuid(id ?? '')).toBe(value);
      }),
    );
    // Bodies whose value is in [2^116, 2^122): first character 0, second 0–3, and when the second
    // is 0 a third of at least 2 (else the clock is below 2^36 ms).
    const body = fc
      .tuple(
        fc.constantFrom(...alphabet.slice(0, 4)),
        fc.constantFrom(...alphabet),
        fc.array(fc.constantFrom(...alphabet), { minLength: 23, maxLength: 23 }),
      )
      .filter(([second, third]) => second !== '0' || alphabet.indexOf(third) >= 2)
      .map(([second, third, rest]) => `agt_0${second}${third}${rest.join('')}`);
    fc.assert(
      fc.property(body, (id) => {
        const value = idToUuid(id);
        expect(value).toMatch(strictUuid);
        expect(uuidToId('agent', value)).toBe(id);
      }),
    );
  });

  it('still reads the uuids issued before the version 8 layout (the id as 128 bits)', () => {
    const id = newId('agent');
    let value = 0n;
    for (const character of id.slice(4)) value = value * 32n + BigInt(alphabet.indexOf(character));
    const earlier = asUuid(value.toString(16).padStart(32, '0'));
    expect(earlier).not.toBe(idToUuid(id));
    expect(uuidToId('agent', earlier)).toBe(id);
    expect(uuidToId('agent', earlier.toUpperCase())).toBe(id);
  });

  it('refuses what it cannot encode or decode', () => {
    expect(() => idToUuid('agt_80000000000000000000000000')).toThrow(/does not fit/);
    expect(() => idToUuid('agt_short')).toThrow(/not a Runyard id/);
    expect(() => idToUuid('agt_0000000000000000000000000u')).toThrow(/not a Runyard id/);
    expect(() => idToUuid('00000000000000000000000000')).toThrow(/not a Runyard id/);
    for (const value of [
      '',
      'not-a-uuid',
      '00000000-0000-0000-0000-00000000000',
      '00000000000000000000000000000000',
      'g0000000-0000-0000-0000-000000000000',
      // A client's version 4 uuid is no uuid of ours.
      'a64d23ed-2580-43e4-a898-e97193d7fd5e',
      // Version 8 but another variant.
      'ffffffff-ffff-8fff-7fff-ffffffffffff',
    ]) {
      expect(uuidToId('agent', value)).toBeUndefined();
    }
    expect(isUuidShaped('a64d23ed-2580-43e4-a898-e97193d7fd5e')).toBe(true);
    expect(isRfc9562Uuid('a64d23ed-2580-43e4-a898-e97193d7fd5e')).toBe(true);
    expect(isRfc9562Uuid('0197a000-0000-0000-0000-000000000000')).toBe(false);
  });
});
