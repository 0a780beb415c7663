import type { Scope } from '@runyard/protocol';

/** Who is calling: resolved from the API key before any service runs. */
export interface Caller {
  keyId: string;
  workspaceId: string;
  scopes: readonly Scope[];
  /** An admin key of the default workspace administers the whole instance (workspaces, their keys). */
  isInstanceAdmin: boolean;
}

export function hasScope(caller: Pick<Caller, 'scopes'>, scope: Scope): boolean {
  return caller.scopes.includes('admin') || caller.scopes.includes(scope);
}
