import { randomBytes } from 'node:crypto';
import { idPrefixes, type IdKind } from '@runyard/protocol';

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';

function encodeTime(milliseconds: number): string {
  let value = milliseconds;
  let text = '';
  for (let index = 0; index < 10; index += 1) {
    text = alphabet[value % 32]! + text;
    value = Math.floor(value / 32);
  }
  return text;
}

/**
 * Random bytes are drawn from the system a pool at a time: one call per 256 ids instead of one each
 * (like Node's own randomUUID). Each byte is used once.
 */
const poolSizeBytes = 4096;
let pool = randomBytes(poolSizeBytes);
let poolOffset = 0;

function randomText(length: number): string {
  if (poolOffset + length > poolSizeBytes) {
    pool = randomBytes(poolSizeBytes);
    poolOffset = 0;
  }
  let text = '';
  for (let index = poolOffset; index < poolOffset + length; index += 1) text += alphabet[pool[index]! % 32]!;
  poolOffset += length;
  return text;
}

/** `<prefix>_<10 time chars><16 random chars>`: sortable by creation, 80 bits of randomness. */
export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${idPrefixes[kind]}_${encodeTime(now)}${randomText(16)}`;
}
