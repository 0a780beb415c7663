const namedEntities: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  euro: '€',
  middot: '·',
};

/** `&amp;`, `&#39;`, `&#x27;`; unknown names are kept as written. Code points outside Unicode become U+FFFD. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,8});/gi, (whole, entity: string) => {
    if (entity.startsWith('#')) {
      const codePoint =
        entity[1] === 'x' || entity[1] === 'X'
          ? Number.parseInt(entity.slice(2), 16)
          : Number(entity.slice(1));
      return codePoint > 0 && codePoint <= 0x10ffff && !(codePoint >= 0xd800 && codePoint <= 0xdfff)
        ? String.fromCodePoint(codePoint)
        : '\uFFFD';
    }
    return namedEntities[entity.toLowerCase()] ?? whole;
  });
}

const blockTags =
  /<\/?(?:p|div|br|hr|h[1-6]|li|ul|ol|tr|table|section|article|header|footer|nav|main|aside|blockquote|pre|dd|dt|dl|form|figure|figcaption|title)\b[^>]*>/gi;

/**
 * HTML reduced to the text a reader sees: script, style, template, noscript, svg and head-only
 * content dropped with their bodies, comments dropped, block elements as line breaks, tags removed,
 * entities decoded, whitespace collapsed. Regex-based and linear: no markup is ever executed or
 * fetched, and a malformed page only yields rougher text.
 */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, ' ')
    .replace(/<(script|style|template|noscript|svg|iframe|object)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, ' ')
    .replace(/<head\b[\s\S]*?<\/head\s*>/i, (head) => {
      const title = /<title\b[^>]*>([\s\S]*?)<\/title\s*>/i.exec(head);
      return title?.[1] === undefined ? ' ' : `\n${title[1]}\n`;
    })
    .replace(blockTags, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/<[^>]*$/, ' ');
  return decodeEntities(text)
    .replace(/[ \t\f\v\r\u00a0]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
