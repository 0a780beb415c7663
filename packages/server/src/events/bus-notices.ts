import { createHash } from 'node:crypto';
import type { BusSignal } from './event-bus.ts';

/** What crosses processes on the PostgreSQL bus: the channels, and the notices they carry. */

export const runEventsChannel = 'runyard_run_events';
export const signalsChannel = 'runyard_signals';

/** PostgreSQL identifiers (and so channel names) hold at most 63 bytes. */
const maximumChannelLength = 63;

/** What a run-events notification carries: never the events themselves, only where they end. */
export interface RunNotice {
  origin: string;
  runId: string;
  /** The first seq of the announced events: where a process that knew nothing of the run starts. */
  first: number;
  /** The last seq of the announced events. */
  seq: number;
}

/** What a signals notification carries. */
export interface SignalNotice {
  origin: string;
  signal: BusSignal;
}

/**
 * Channels belong to the database, not to a schema: deployments confined to schemas of one database
 * (and parallel test suites) get channels of their own, so they neither wake nor read each other.
 */
export function channelName(base: string, schema: string | null): string {
  if (schema === null) return base;
  const name = `${base}_${schema}`;
  if (name.length <= maximumChannelLength) return name;
  return `${base}_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

export function parseRunNotice(value: unknown): RunNotice | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { origin, runId, first, seq } = value as Record<string, unknown>;
  if (typeof origin !== 'string' || typeof runId !== 'string') return undefined;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(seq)) return undefined;
  if ((first as number) < 1 || (seq as number) < (first as number)) return undefined;
  return { origin, runId, first: first as number, seq: seq as number };
}

export function parseSignalNotice(value: unknown): SignalNotice | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { origin, signal } = value as Record<string, unknown>;
  if (typeof origin !== 'string' || typeof signal !== 'object' || signal === null) return undefined;
  const { kind, runId } = signal as Record<string, unknown>;
  if (kind === 'runs-available') return { origin, signal: { kind } };
  if (kind === 'cancel' && typeof runId === 'string') return { origin, signal: { kind, runId } };
  return undefined;
}
