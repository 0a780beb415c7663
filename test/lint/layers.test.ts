import fs from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layerRules } from '../../lint/layers.js';
import { temporaryDirectory } from '../support/backends.ts';

/**
 * The layer rules of `npm run lint` (lint/layers.js), run through ESLint's Node API on a small house
 * of their own in a temporary folder: one file per kind of break, each refused with its message, and
 * a house in order that passes. The fixtures live outside the repository, so the lint of the
 * repository never sees them.
 */
const workspaces = {
  protocol: '@runyard/protocol',
  server: '@runyard/server',
  sdk: '@runyard/sdk',
  cli: '@runyard/cli',
};

/** A house in order: every layer imports only what is below it. */
const inOrder: Record<string, string> = {
  'packages/protocol/src/index.ts': `import { z } from 'zod';\nexport const runId = z.string();\n`,
  'packages/server/src/shared/errors.ts': `export class Failure extends Error {}\n`,
  'packages/server/src/config/config.ts': `import { runId } from '@runyard/protocol';\nexport const config = { runId };\n`,
  'packages/server/src/store/runs.ts': `import { Failure } from '../shared/errors.ts';\nexport class Runs { failure = Failure; }\n`,
  'packages/server/src/events/bus.ts': `import type { Runs } from '../store/runs.ts';\nexport type Bus = { runs: Runs };\n`,
  'packages/server/src/engine/executor.ts': [
    `import type { Bus } from '../events/bus.ts';`,
    `import { Runs } from '../store/runs.ts';`,
    `export const execute = (bus: Bus) => [bus, new Runs()];`,
  ].join('\n'),
  'packages/server/src/core/runs-service.ts': [
    `import { execute } from '../engine/executor.ts';`,
    `import { Runs } from '../store/runs.ts';`,
    `export class RunsService { runs = new Runs(); execute = execute; }`,
  ].join('\n'),
  'packages/server/src/api/routes.ts': [
    `import type { FastifyInstance } from 'fastify';`,
    `import { RunsService } from '../core/runs-service.ts';`,
    `export const routes = (app: FastifyInstance) => [app, new RunsService()];`,
  ].join('\n'),
  'packages/server/src/api/compat/demo/routes.ts': [
    `import { RunsService } from '../../../core/runs-service.ts';`,
    `import { routes } from '../../routes.ts';`,
    `export const demo = [routes, RunsService];`,
  ].join('\n'),
  'packages/server/src/runtime/start.ts': [
    `import { routes } from '../api/routes.ts';`,
    `import { execute } from '../engine/executor.ts';`,
    `import { Runs } from '../store/runs.ts';`,
    `export const start = () => [routes, execute, Runs];`,
  ].join('\n'),
  'packages/server/src/index.ts': `export { start } from './runtime/start.ts';\n`,
  // Tests are outside the layers: a store test may start a whole server.
  'packages/server/src/store/runs.test.ts': `import { start } from '../runtime/start.ts';\nstart();\n`,
  'packages/sdk/src/index.ts': `import { runId } from '@runyard/protocol';\nexport const client = { runId };\n`,
  'packages/cli/src/main.ts': [
    `import { client } from '@runyard/sdk';`,
    `import { start } from '@runyard/server';`,
    `export const main = [client, start];`,
  ].join('\n'),
};

/** Files that break a rule, each with the messages ESLint must give (one per broken import). */
const breaks: Record<string, { source: string; messages: RegExp[] }> = {
  'packages/server/src/store/upward.ts': {
    source: `import { execute } from '../engine/executor.ts';\nexport const upward = execute;\n`,
    messages: [
      /^store may not import packages\/server\/src\/engine\/executor\.ts \(in engine\): store imports only store, config, shared, protocol\./,
    ],
  },
  'packages/server/src/engine/upward-type.ts': {
    source: `import type { RunsService } from '../core/runs-service.ts';\nexport type Upward = RunsService;\n`,
    messages: [/^engine may not import packages\/server\/src\/core\/runs-service\.ts \(in core\)/],
  },
  'packages/server/src/events/upward-export.ts': {
    source: `export { execute } from '../engine/executor.ts';\n`,
    messages: [/^events may not import packages\/server\/src\/engine\/executor\.ts \(in engine\)/],
  },
  'packages/server/src/core/upward-dynamic.ts': {
    source: `export const load = () => import('../api/routes.ts');\n`,
    messages: [/^core may not import packages\/server\/src\/api\/routes\.ts \(in api\)/],
  },
  'packages/server/src/api/reach-store.ts': {
    source: `import { Runs } from '../store/runs.ts';\nexport const runs = new Runs();\n`,
    messages: [
      /^api may not import packages\/server\/src\/store\/runs\.ts \(in store\).*through core\/ services/,
    ],
  },
  'packages/server/src/api/compat/demo/reach-engine.ts': {
    source: `import { execute } from '../../../engine/executor.ts';\nexport const call = execute;\n`,
    messages: [
      /^compat may not import packages\/server\/src\/engine\/executor\.ts \(in engine\): compat imports only compat, api, core, config, shared, protocol\. Compat adapters reach the engine and the store through core\/ services\./,
    ],
  },
  'packages/server/src/core/http-types.ts': {
    source: `import type { FastifyRequest } from 'fastify';\nexport type Request = FastifyRequest;\n`,
    messages: [/^core may not import the package fastify\./],
  },
  'packages/server/src/stray.ts': {
    source: `export const stray = 1;\n`,
    messages: [/^packages\/server\/src\/stray\.ts is in no part of the layers/],
  },
  'packages/protocol/src/more.ts': {
    source: `import fs from 'node:fs';\nimport { z } from 'zod';\nexport const more = [fs, z];\n`,
    messages: [/^protocol may not import the package node:fs\. The wire format sits below everything\./],
  },
  'packages/sdk/src/peek.ts': {
    source: [
      `import { start } from '@runyard/server';`,
      `import { RunsService } from '../../server/src/core/runs-service.ts';`,
      `export const peek = [start, RunsService];`,
    ].join('\n'),
    messages: [
      /^sdk may not import packages\/server\/src\/index\.ts \(in server\): sdk imports only sdk, protocol\./,
      /^sdk may not import packages\/server\/src\/core\/runs-service\.ts \(in core\)/,
    ],
  },
  'packages/cli/src/deep.ts': {
    source: `import { Runs } from '../../server/src/store/runs.ts';\nexport const deep = Runs;\n`,
    messages: [
      /^cli may not import packages\/server\/src\/store\/runs\.ts \(in store\): cli imports only cli, server, sdk/,
    ],
  },
  // A loop of type-only imports is a cycle too: each side is told.
  'packages/server/src/core/loop-a.ts': {
    source: `import type { B } from './loop-b.ts';\nexport interface A { b: B }\n`,
    messages: [
      /^Import cycle: packages\/server\/src\/core\/loop-a\.ts → packages\/server\/src\/core\/loop-b\.ts → packages\/server\/src\/core\/loop-a\.ts\./,
    ],
  },
  'packages/server/src/core/loop-b.ts': {
    source: `import type { A } from './loop-a.ts';\nexport interface B { a: A }\n`,
    messages: [
      /^Import cycle: packages\/server\/src\/core\/loop-b\.ts → packages\/server\/src\/core\/loop-a\.ts → /,
    ],
  },
  // Three files round: every import on the loop is reported, with the whole loop.
  'packages/cli/src/round-a.ts': {
    source: `import { b } from './round-b.ts';\nexport const a = () => b;\n`,
    messages: [
      /^Import cycle: packages\/cli\/src\/round-a\.ts → packages\/cli\/src\/round-b\.ts → packages\/cli\/src\/round-c\.ts → packages\/cli\/src\/round-a\.ts\./,
    ],
  },
  'packages/cli/src/round-b.ts': {
    source: `import { c } from './round-c.ts';\nexport const b = () => c;\n`,
    messages: [
      /^Import cycle: packages\/cli\/src\/round-b\.ts → packages\/cli\/src\/round-c\.ts → packages\/cli\/src\/round-a\.ts → packages\/cli\/src\/round-b\.ts\./,
    ],
  },
  'packages/cli/src/round-c.ts': {
    source: `import type { a } from './round-a.ts';\nexport const c: typeof a | undefined = undefined;\n`,
    messages: [/^Import cycle: packages\/cli\/src\/round-c\.ts → packages\/cli\/src\/round-a\.ts → /],
  },
  'packages/server/src/api/compat/make/reaches-engine.ts': {
    source: `import { body } from '../../../engine/callbacks/callback-bodies.ts';\nexport const reached = body;\n`,
    messages: [
      /^compat may not import packages\/server\/src\/engine\/callbacks\/callback-bodies\.ts \(in engine\)/,
    ],
  },
};

/** The module the compat break above reaches for. */
const reachedFor: Record<string, string> = {
  'packages/server/src/engine/callbacks/callback-bodies.ts': `export const body = {};\n`,
};

describe('the layer rules (lint/layers.js)', () => {
  let root: string;
  let messagesOf: Map<string, string[]>;

  beforeAll(async () => {
    root = temporaryDirectory('runyard-layers-');
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text);
    };
    write(
      'package.json',
      JSON.stringify({ workspaces: Object.keys(workspaces).map((name) => `packages/${name}`) }),
    );
    for (const [folder, name] of Object.entries(workspaces)) {
      write(`packages/${folder}/package.json`, JSON.stringify({ name, exports: { '.': './src/index.ts' } }));
    }
    write('packages/cli/src/index.ts', `export {};\n`);
    for (const [file, text] of Object.entries({ ...inOrder, ...reachedFor })) write(file, text);
    for (const [file, { source }] of Object.entries(breaks)) write(file, source);

    const eslint = new ESLint({ cwd: root, overrideConfigFile: true, overrideConfig: layerRules(root) });
    const results = await eslint.lintFiles(['packages']);
    messagesOf = new Map(
      results.map((result) => [
        path.relative(root, result.filePath).split(path.sep).join('/'),
        result.messages.map((message) => `${message.message} [${message.ruleId ?? 'parse'}]`),
      ]),
    );
  });

  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('passes a house whose imports point one way, tests included', () => {
    for (const file of [...Object.keys(inOrder), ...Object.keys(reachedFor)]) {
      expect(messagesOf.get(file), file).toEqual([]);
    }
  });

  it.each(Object.entries(breaks))('refuses %s', (file, { messages }) => {
    const given = messagesOf.get(file) ?? [];
    expect(given).toHaveLength(messages.length);
    messages.forEach((expected, index) => expect(given[index]).toMatch(expected));
  });

  it('lints every fixture file: none was left out by the config', () => {
    const written = [...Object.keys(inOrder), ...Object.keys(reachedFor), ...Object.keys(breaks)];
    expect([...messagesOf.keys()]).toEqual(expect.arrayContaining(written));
  });
});
