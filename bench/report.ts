/** What both benchmarks share: their knobs from the environment, tables and target verdicts. */

/** A whole number ≥ 1 from the environment, or the fallback when unset. */
export function positiveInteger(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${name} must be a positive whole number`);
  return parsed;
}

/** Left-aligned first column, right-aligned numbers, a rule under the header. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const format = (cells: string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [format(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(format)]
    .map((line) => `${line}\n`)
    .join('');
}

export interface TargetResult {
  name: string;
  met: boolean;
  /** The measured figure against the target, e.g. `3.10 ms ≤ 2.80 ms`. */
  detail: string;
}

export function formatTargets(targets: readonly TargetResult[]): string {
  return targets
    .map((target) => `${target.met ? 'PASS' : 'MISS'}  ${target.name}: ${target.detail}\n`)
    .join('');
}

export const fixed = (value: number, digits = 2): string =>
  Number.isFinite(value) ? value.toFixed(digits) : '-';
