/** What replaces a credential found in text the model, a caller or a log could see. */
export const redactedMarker = '[redacted]';

/**
 * Remembers every credential value one tool call used (and the encodings it was sent in) and
 * removes them from text: a response body that echoes the Authorization header, an error message
 * that quotes a URL with the key in its query.
 */
export class CredentialScrubber {
  private readonly values = new Set<string>();

  /** Adds a value, with its URL-encoded and JSON-escaped forms. */
  add(value: string): void {
    if (value === '') return;
    this.values.add(value);
    const encoded = encodeURIComponent(value);
    if (encoded !== value) this.values.add(encoded);
    // JSON-escaped, for a body that quotes the value inside a JSON string.
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) this.values.add(escaped);
  }

  scrub(text: string): string {
    let result = text;
    // Longest first, so a value that contains another is replaced whole.
    for (const value of [...this.values].sort((left, right) => right.length - left.length)) {
      if (result.includes(value)) result = result.split(value).join(redactedMarker);
    }
    return result;
  }

  /**
   * Removes the credentials from bytes of any kind (a kept response body), leaving every other byte
   * as it was: both sides are compared as latin1, where one character is one byte, and a value is
   * matched by its UTF-8 bytes. `cut`: the bytes end where a larger body was cut off, so a trailing
   * start of a credential (the rest of it lay beyond the cut) is dropped too, from 4 bytes on (fewer
   * give nothing away, and would clip ordinary text that merely ends like a credential begins).
   */
  scrubBytes(bytes: Buffer, cut: boolean): Buffer {
    if (this.values.size === 0) return bytes;
    const asBytes = (value: string) => Buffer.from(value, 'utf8').toString('latin1');
    const values = [...this.values].map(asBytes).sort((left, right) => right.length - left.length);
    let result = bytes.toString('latin1');
    for (const value of values) {
      if (result.includes(value)) result = result.split(value).join(redactedMarker);
    }
    if (cut) {
      let dropped = 0;
      for (const value of values) {
        for (
          let length = Math.min(value.length - 1, result.length);
          length >= Math.max(4, dropped + 1);
          length -= 1
        ) {
          if (result.endsWith(value.slice(0, length))) {
            dropped = length;
            break;
          }
        }
      }
      result = result.slice(0, result.length - dropped);
    }
    return Buffer.from(result, 'latin1');
  }

  get size(): number {
    return this.values.size;
  }
}
