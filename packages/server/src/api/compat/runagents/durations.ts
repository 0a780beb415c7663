import { z } from 'zod';
import { maxApprovalWindowMs } from '@runyard/protocol';

const unitMs = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;

/**
 * runagents' durations, Go-style: `4h`, `30m`, `1h30m`, `90s`, `2h0m0s`, `500ms` → milliseconds,
 * at least 1 ms and at most an approval window's maximum (30 days).
 */
export const durationSchema = z
  .string()
  .max(32)
  .regex(/^(\d+(h|ms|m|s))+$/, 'must be a duration such as 4h, 30m or 1h30m')
  .transform((text, context) => {
    let total = 0;
    for (const [, amount, unit] of text.matchAll(/(\d+)(h|ms|m|s)/g)) {
      total += Number(amount) * unitMs[unit as keyof typeof unitMs];
    }
    if (total < 1 || total > maxApprovalWindowMs) {
      context.addIssue({ code: 'custom', message: 'must be between 1ms and 720h (30 days)' });
      return z.NEVER;
    }
    return total;
  });

/** Milliseconds as the shortest Go-style duration: 14400000 → `4h`, 5400000 → `1h30m`. */
export function formatDuration(totalMs: number): string {
  let rest = totalMs;
  let text = '';
  for (const [unit, size] of Object.entries(unitMs)) {
    const amount = Math.floor(rest / size);
    if (amount > 0) text += `${amount}${unit}`;
    rest -= amount * size;
  }
  return text === '' ? '0s' : text;
}
