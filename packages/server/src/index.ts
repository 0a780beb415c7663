export { loadConfig, ConfigError, type Config } from './config/config.ts';
export { startServer, type RunningServer, type Role } from './runtime/start.ts';
export { createLogger } from './runtime/logger.ts';
export { migrate, pendingMigrations, openDatabase, Store } from './store/index.ts';
export { buildOpenApiDocument } from './api/openapi.ts';
export { RunyardError } from './shared/errors.ts';
export { compatOperations } from './api/compat/compat-catalogue.ts';
export type { CompatCatalogueEntry, CompatAuthStyle } from './api/compat/compat-routes.ts';
