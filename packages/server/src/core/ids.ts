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

function randomText(length: number): string {
  const bytes = randomBytes(length);
  let text = '';
  for (const byte of bytes) text += alphabet[byte % 32]!;
  return text;
}

/** `<prefix>_<10 time chars><16 random chars>`: sortable by creation, 80 bits of randomness. */
export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${idPrefixes[kind]}_${encodeTime(now)}${randomText(16)}`;
}
