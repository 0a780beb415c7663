import type { Invocation } from '../command-group.ts';
import { UsageError } from '../failures.ts';

/** `--limit` and `--cursor` as a list query; the server checks the range of the limit. */
export function pageQuery(invocation: Invocation): { limit?: number; cursor?: string } {
  const limit = invocation.option('limit');
  const cursor = invocation.option('cursor');
  if (limit !== undefined && !/^\d+$/.test(limit)) {
    throw new UsageError(`--limit must be a whole number, not '${limit}'`);
  }
  return {
    ...(limit !== undefined && { limit: Number(limit) }),
    ...(cursor !== undefined && { cursor }),
  };
}
