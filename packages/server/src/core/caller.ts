import { acceptedScopes, type Scope } from '@runyard/protocol';

/** Who is calling: resolved from the API key before any service runs. */
export interface Caller {
  keyId: string;
  workspaceId: string;
  scopes: readonly Scope[];
  /** An admin key of the default workspace administers the whole instance (workspaces, their keys). */
  isInstanceAdmin: boolean;
}

/** Whether the caller holds the scope, or (a list) any one of the scopes; `admin` holds every one. */
export function hasScope(caller: Pick<Caller, 'scopes'>, scope: Scope | readonly Scope[]): boolean {
  return (
    caller.scopes.includes('admin') || acceptedScopes(scope).some((each) => caller.scopes.includes(each))
  );
}
