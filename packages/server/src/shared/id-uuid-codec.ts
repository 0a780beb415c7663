import { idPrefixes, type IdKind } from '@runyard/protocol';

/**
 * Runyard ids as RFC 9562 uuids, for surfaces whose clients expect uuids (the Make compat surface).
 * Nothing is stored: both directions are pure arithmetic.
 *
 * An id body is 26 characters of a 32-letter alphabet, a 130-bit value V: a 50-bit millisecond
 * clock, then 80 random bits. A uuid has 122 bits of its own once its version (4 bits) and variant
 * (2 bits) are set. While the clock is below 2^42 ms (until 2109-05-15) V has at most 122
 * significant bits, so V maps one-to-one onto a version 8 ("custom") uuid with the RFC 9562 variant:
 *
 *   uuid bits 127…80 = V bits 121…74, 79…76 = 0b1000 (version 8), 75…64 = V bits 73…62,
 *   63…62 = 0b10 (variant), 61…0 = V bits 61…0.
 *
 * Before this layout the uuid was V itself (no version or variant). Those uuids are still read: for
 * every id issued since 1972 (clock ≥ 2^36 ms) the current layout's top 6 bits (the clock's bits
 * 41…36) are not all zero, while an earlier uuid's top 6 bits (the clock's bits 47…42) are zero
 * for every id issued before 2109. So a uuid whose top 6 bits are zero is read the earlier way, and
 * the two never collide. An id outside 1972…2109 (no clock issues one) cannot be encoded.
 */

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
const bodyLength = 26;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Version 1–8 and the RFC 9562 variant (`10xx`): what a strict uuid validator accepts. */
const rfc9562Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** V below this fits in a uuid's 122 free bits. */
const encodableLimit = 1n << 122n;
/** V below this would leave the uuid's top 6 bits zero, where it would read as an earlier uuid. */
const encodableFloor = 1n << 116n;
const low62 = (1n << 62n) - 1n;
const low12 = (1n << 12n) - 1n;
const version8 = 8n << 76n;
const variantRfc = 2n << 62n;

/** 8-4-4-4-12 hex digits, any version or none (a Make client's own thread name may be one). */
export function isUuidShaped(value: string): boolean {
  return uuidPattern.test(value);
}

/** A uuid with an RFC 9562 version (1–8) and variant, as strict validators require. */
export function isRfc9562Uuid(value: string): boolean {
  return rfc9562Pattern.test(value);
}

function bodyValue(id: string): bigint {
  const separator = id.indexOf('_');
  const body = id.slice(separator + 1);
  if (separator < 1 || body.length !== bodyLength) throw new Error(`'${id}' is not a Runyard id`);
  let value = 0n;
  for (const character of body) {
    const digit = alphabet.indexOf(character);
    if (digit < 0) throw new Error(`'${id}' is not a Runyard id`);
    value = value * 32n + BigInt(digit);
  }
  return value;
}

function formatUuid(value: bigint): string {
  const hex = value.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `agt_…` → an RFC 9562 version 8 uuid. Throws for a value that is not a Runyard id of 1972…2109. */
export function idToUuid(id: string): string {
  const value = bodyValue(id);
  if (value >= encodableLimit || value < encodableFloor) {
    throw new Error(`'${id}' does not fit in a uuid (its clock is outside 1972…2109)`);
  }
  return formatUuid(
    ((value >> 74n) << 80n) | version8 | (((value >> 62n) & low12) << 64n) | variantRfc | (value & low62),
  );
}

/**
 * The inverse of `idToUuid` for ids of `kind` (also for uuids issued before the version 8 layout);
 * undefined when `uuid` is not uuid-shaped or is no uuid this codec issues (another version).
 */
export function uuidToId(kind: IdKind, uuid: string): string | undefined {
  if (!isUuidShaped(uuid)) return undefined;
  const bits = BigInt(`0x${uuid.replaceAll('-', '')}`);
  let value: bigint;
  if (bits < encodableLimit) {
    value = bits;
  } else {
    if ((bits & (0xfn << 76n)) !== version8 || (bits & (3n << 62n)) !== variantRfc) return undefined;
    value = ((bits >> 80n) << 74n) | (((bits >> 64n) & low12) << 62n) | (bits & low62);
  }
  let body = '';
  for (let index = 0; index < bodyLength; index += 1) {
    body = alphabet[Number(value % 32n)]! + body;
    value /= 32n;
  }
  return `${idPrefixes[kind]}_${body}`;
}
