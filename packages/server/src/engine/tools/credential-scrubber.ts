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

  get size(): number {
    return this.values.size;
  }
}
