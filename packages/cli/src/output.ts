/** Text output: aligned tables and `label: value` lines on stdout; `--json` prints the API's JSON instead. */

export function writeLines(...lines: string[]): void {
  process.stdout.write(lines.map((line) => `${line}\n`).join(''));
}

export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A note for a person (e.g. how to get the next page): stderr, so stdout stays the data. */
export function writeNote(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Columns separated by two spaces, headers in capitals; cells are kept to one printable line. */
export function formatTable(headers: string[], rows: string[][]): string[] {
  const cells = [headers.map((header) => header.toUpperCase()), ...rows.map((row) => row.map(oneLine))];
  const widths = headers.map((_header, column) =>
    Math.max(...cells.map((row) => (row[column] ?? '').length)),
  );
  return cells.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** `label:  value` lines with the values aligned. */
export function formatFields(fields: [label: string, value: string][]): string[] {
  const width = Math.max(...fields.map(([label]) => label.length + 1));
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${oneLine(value)}`.trimEnd());
}

/** `2025-01-02T03:04:05Z` (no milliseconds), or `-`. */
export function formatTime(iso: string | null): string {
  if (iso === null) return '-';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function formatList(values: readonly string[]): string {
  return values.length === 0 ? '-' : values.join(', ');
}

export function orDash(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === '' ? '-' : String(value);
}

/** Text from the API, with control characters (terminal escapes included) replaced by spaces; newlines kept. */
export function printable(text: string): string {
  let result = '';
  for (const character of text) {
    const code = character.codePointAt(0) ?? 0;
    const control = (code < 32 && character !== '\n') || (code >= 127 && code < 160);
    result += control ? ' ' : character;
  }
  return result;
}

function oneLine(text: string): string {
  return printable(text).replaceAll('\n', ' ');
}
