import { catalogueOf, type CompatCatalogueEntry } from './compat-routes.ts';
import { makeSurface } from './make/make-surface.ts';
import { runagentsSurface } from './runagents/runagents-surface.ts';
import { runtoolsSurface } from './runtools/runtools-surface.ts';

/** Every compat surface, declared. A new surface is added here and registered in app.ts. */
export const compatSurfaces = [makeSurface, runtoolsSurface, runagentsSurface] as const;

/**
 * Every compat operation: the catalogue the contract suites iterate as they iterate /v1's `routes`,
 * so an operation they do not cover fails them.
 */
export const compatOperations: readonly CompatCatalogueEntry[] = compatSurfaces.flatMap((surface) =>
  catalogueOf(surface),
);
