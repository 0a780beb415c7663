import type { AgentVersion } from '@runyard/protocol';
import type { Store } from '../../store/index.ts';

/** Versions kept per store; a run reads its agent's version once, so this is the working set. */
const cacheSize = 512;

/** By `agentId/version`; insertion order is recency (a hit is moved to the end). */
const caches = new WeakMap<Store, Map<string, AgentVersion>>();

/**
 * `store.agents.getVersion`, remembered: an agent version is immutable once written (a change to
 * an agent writes a new version; no statement updates or deletes a version row), so a version
 * read once stays right. A version not found is not remembered.
 */
export async function agentVersion(
  store: Store,
  agentId: string,
  version: number,
): Promise<AgentVersion | undefined> {
  let cache = caches.get(store);
  if (cache === undefined) {
    cache = new Map();
    caches.set(store, cache);
  }
  const key = `${agentId}/${version}`;
  const cached = cache.get(key);
  if (cached !== undefined) {
    cache.delete(key);
    cache.set(key, cached);
    return cached;
  }
  const found = await store.agents.getVersion(agentId, version);
  if (found === undefined) return undefined;
  cache.set(key, found);
  if (cache.size > cacheSize) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  return found;
}
