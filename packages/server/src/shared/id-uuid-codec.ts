import { idPrefixes, type IdKind } from '@runyard/protocol';

/**
 * Runyard ids as uuid-shaped strings, for surfaces whose clients expect uuids (the Make compat
 * surface). An id body is 26 characters of a 32-letter alphabet: 130 bits. The first character
 * encodes the top 5 bits of a 50-bit millisecond clock, which stays below 8 until the year 10889,
 * so the top 2 bits are always zero and the other 128 bits map one-to-one onto the 32 hex digits
 * of a uuid (8-4-4-4-12). Nothing is stored: both directions are pure arithmetic.
 *
 * The result is uuid-shaped but carries no RFC 9562 version or variant: all 128 bits are the id's.
 */

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
const bodyLength = 26;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const highestEncodable = (1n << 128n) - 1n;

export function isUuidShaped(value: string): boolean {
  return uuidPattern.test(value);
}

/** `agt_…` → `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. Throws for a value that is not a Runyard id. */
export function idToUuid(id: string): string {
  const separator = id.indexOf('_');
  const body = id.slice(separator + 1);
  if (separator < 1 || body.length !== bodyLength) throw new Error(`'${id}' is not a Runyard id`);
  let value = 0n;
  for (const character of body) {
    const digit = alphabet.indexOf(character);
    if (digit < 0) throw new Error(`'${id}' is not a Runyard id`);
    value = value * 32n + BigInt(digit);
  }
  if (value > highestEncodable) throw new Error(`'${id}' does not fit in 128 bits`);
  const hex = value.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The inverse of `idToUuid` for ids of `kind`; undefined when `uuid` is not uuid-shaped. */
export function uuidToId(kind: IdKind, uuid: string): string | undefined {
  if (!isUuidShaped(uuid)) return undefined;
  let value = BigInt(`0x${uuid.replaceAll('-', '')}`);
  let body = '';
  for (let index = 0; index < bodyLength; index += 1) {
    body = alphabet[Number(value % 32n)]! + body;
    value /= 32n;
  }
  return `${idPrefixes[kind]}_${body}`;
}
