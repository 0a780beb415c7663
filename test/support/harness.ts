import fs from 'node:fs';
import { afterEach } from 'vitest';
import { temporaryDirectory } from './backends.ts';
import { isolatedPostgres } from './postgres.ts';

export type Cleanup = () => Promise<void> | void;

/** A promise the test resolves when it chooses. */
export class Gate {
  open: () => void = () => undefined;
  readonly opened = new Promise<void>((resolve) => (this.open = resolve));
}

/**
 * Cleanups and gates of one test file, undone after each test: gates are opened first, so that no
 * held request stays open, then cleanups run newest first. Call it before `useRunyardProcesses`,
 * whose afterEach then runs first: the processes are gone before their schema is dropped.
 */
export function useCleanups(): { cleanups: Cleanup[]; gate: () => Gate } {
  const cleanups: Cleanup[] = [];
  const gates: Gate[] = [];
  afterEach(async () => {
    for (const gate of gates.splice(0)) gate.open();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    cleanups,
    gate: () => {
      const gate = new Gate();
      gates.push(gate);
      return gate;
    },
  };
}

/** A fresh PostgreSQL schema and data directory for a deployment of processes, both removed after the test. */
export async function freshDeployment(
  cleanups: Cleanup[],
  label: string,
): Promise<{ databaseUrl: string; dataDirectory: string }> {
  const postgres = await isolatedPostgres();
  if (postgres === undefined) throw new Error('PostgreSQL is not reachable');
  cleanups.push(postgres.drop);
  const dataDirectory = temporaryDirectory(label);
  cleanups.push(() => fs.rmSync(dataDirectory, { recursive: true, force: true }));
  return { databaseUrl: postgres.databaseUrl, dataDirectory };
}

/** Rejects naming `description` when `promise` has not settled within `timeoutMs`. */
export async function within<T>(description: string, promise: Promise<T>, timeoutMs = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
