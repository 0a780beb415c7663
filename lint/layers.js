// @ts-check
import tseslint from 'typescript-eslint';
import { importBoundaries } from './import-boundaries.js';
import { importCycles } from './import-cycles.js';

/**
 * The layers of the house, enforced by `npm run lint` (docs/architecture/overview.md draws them):
 *
 *   cli → sdk → protocol; cli → server's face (`@runyard/server`), never its internals
 *   server: runtime → api (api/compat/<name>) → core → engine → events → store; config, shared are leaves
 *   protocol is below everything and imports only zod
 *
 * Each part may import its own files and the parts it lists below, nothing else of the repository.
 * Tests (`*.test.ts`, `test-fixtures/`) are outside the layers; import cycles are refused everywhere.
 */
const parts = {
  protocol: 'packages/protocol/src/',
  sdk: 'packages/sdk/src/',
  cli: 'packages/cli/src/',
  server: 'packages/server/src/index.ts',
  runtime: 'packages/server/src/runtime/',
  api: 'packages/server/src/api/',
  compat: 'packages/server/src/api/compat/',
  core: 'packages/server/src/core/',
  engine: 'packages/server/src/engine/',
  events: 'packages/server/src/events/',
  store: 'packages/server/src/store/',
  config: 'packages/server/src/config/',
  shared: 'packages/server/src/shared/',
};

/** @type {Record<keyof typeof parts, (keyof typeof parts)[]>} */
const mayImport = {
  protocol: [],
  sdk: ['protocol'],
  cli: ['server', 'sdk', 'protocol'],
  server: ['runtime', 'api', 'compat', 'core', 'engine', 'events', 'store', 'config', 'shared', 'protocol'],
  runtime: ['api', 'core', 'engine', 'events', 'store', 'config', 'shared', 'protocol'],
  api: ['compat', 'core', 'config', 'shared', 'protocol'],
  compat: ['api', 'core', 'config', 'shared', 'protocol'],
  core: ['engine', 'events', 'store', 'config', 'shared', 'protocol'],
  engine: ['events', 'store', 'config', 'shared', 'protocol'],
  events: ['store', 'config', 'shared', 'protocol'],
  store: ['config', 'shared', 'protocol'],
  config: ['protocol'],
  shared: ['protocol'],
};

/** Said after a refused import of the part: where to go instead. */
const because = {
  protocol: 'The wire format sits below everything.',
  sdk: 'The SDK is a client: it knows the server only through the protocol.',
  cli: 'The CLI starts the server through its face, @runyard/server.',
  api: 'Routes reach the engine and the store through core/ services.',
  compat: 'Compat adapters reach the engine and the store through core/ services.',
  core: 'Services know no HTTP and no route.',
  engine: 'The engine gets what it needs of core/ as EngineDependencies.',
  events: 'The event bus carries events; it knows no run engine.',
  store: 'Repositories hold SQL and nothing above it.',
  config: 'config/ is a leaf.',
  shared: 'shared/ is a leaf.',
};

/** HTTP lives in api/ and runtime/ alone. */
const http = ['fastify'];

/**
 * The flat config that enforces the layers of the repository at `root`.
 *
 * @param {string} root
 * @returns {import('eslint').Linter.Config[]}
 */
export function layerRules(root) {
  return [
    {
      files: ['packages/*/src/**/*.ts'],
      languageOptions: { parser: tseslint.parser },
      plugins: {
        layers: { rules: { 'import-boundaries': importBoundaries, 'import-cycles': importCycles } },
      },
      rules: { 'layers/import-cycles': ['error', { root }] },
    },
    {
      files: ['packages/*/src/**/*.ts'],
      ignores: ['**/*.test.ts', '**/test-fixtures/**'],
      rules: {
        'layers/import-boundaries': [
          'error',
          {
            root,
            parts,
            mayImport,
            because,
            onlyPackages: { protocol: ['zod'] },
            neverPackages: {
              core: http,
              engine: http,
              events: http,
              store: http,
              config: http,
              shared: http,
            },
          },
        ],
      },
    },
  ];
}
