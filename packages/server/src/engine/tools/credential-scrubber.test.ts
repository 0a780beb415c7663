import { describe, expect, it } from 'vitest';
import { CredentialScrubber } from './credential-scrubber.ts';

describe('CredentialScrubber.scrubBytes', () => {
  const scrubber = new CredentialScrubber();
  scrubber.add('sk-secret-value');
  scrubber.add('pässwörd');

  it('replaces credentials and leaves every other byte as it was', () => {
    const noise = Buffer.from([0x00, 0xff, 0xc3, 0x28, 0x80]);
    const bytes = Buffer.concat([noise, Buffer.from('key=sk-secret-value&p=pässwörd'), noise]);
    expect(scrubber.scrubBytes(bytes, false)).toEqual(
      Buffer.concat([noise, Buffer.from('key=[redacted]&p=[redacted]'), noise]),
    );
  });

  it('finds the URL-encoded and JSON-escaped forms', () => {
    const bytes = Buffer.from(`{"a":"p%C3%A4ssw%C3%B6rd","b":"sk-secret-value"}`);
    expect(scrubber.scrubBytes(bytes, false).toString()).toBe('{"a":"[redacted]","b":"[redacted]"}');
  });

  it('drops the start of a credential left at a cut, from 4 bytes on', () => {
    expect(scrubber.scrubBytes(Buffer.from('token: sk-secr'), true).toString()).toBe('token: ');
    expect(scrubber.scrubBytes(Buffer.from('token: sk-'), true).toString()).toBe('token: sk-');
    // Not cut: a body that ends that way is whole, nothing of a credential lies beyond it.
    expect(scrubber.scrubBytes(Buffer.from('token: sk-secr'), false).toString()).toBe('token: sk-secr');
  });

  it('returns the bytes untouched when there is nothing to scrub', () => {
    const bytes = Buffer.from([1, 2, 3]);
    expect(new CredentialScrubber().scrubBytes(bytes, true)).toBe(bytes);
  });
});
