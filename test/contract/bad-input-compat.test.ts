import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  compatKey,
  compatKeys,
  compatOperation,
  compatPath,
  expectCoversCompatCatalogue,
  expectSurfaceError,
  surfaceKeyHeaders,
  type CompatCatalogueEntry,
} from './compat-contract.ts';
import {
  keyIdOf,
  send,
  snapshotWorkspace,
  type RawRequest,
  type WorkspaceSnapshot,
} from './contract-http.ts';

/**
 * Every compat operation, fed generated input that must be rejected, as the /v1 bad-input suite
 * feeds the catalogue: malformed JSON, other media types, oversized and too deeply nested bodies,
 * bodies of the wrong JSON type, bad path values, bad credentials. Every answer is a 4xx in the
 * surface's own error shape, the process stays up, and nothing is written.
 */

const bodyLimitBytes = 4096;
const runsPerOperation = 30;

interface OperationInput {
  /** Path values (they address nothing: a request that got through would still write nothing). */
  params?: Record<string, string>;
  query?: Record<string, string>;
  /**
   * The operation takes any JSON body, or none (the echo service, the starter kit): a body of the
   * wrong type is no error there.
   */
  anyBody?: true;
}

const team = { teamId: '1' };
const makeAgent = { agentId: '00000000-0000-4000-8000-000000000000' };
const runtoolsSlug = { slug: 'no-such-agent' };
const runtoolsThread = { threadId: 'thr_00000000000000000000000000' };
const runagentsAgent = { namespace: 'default', name: 'no-such-agent' };
const runagentsRun = { id: 'run_00000000000000000000000000' };

/** An operation missing here fails the suite: a new operation needs its input before it is fed bad input. */
const inputs: Record<string, OperationInput> = {
  'make.listAgents': { query: team },
  'make.createAgent': { query: team },
  'make.getAgent': { params: makeAgent, query: team },
  'make.updateAgent': { params: makeAgent, query: team },
  'make.deleteAgent': { params: makeAgent, query: team },
  'make.runAgent': { params: makeAgent, query: team },
  'make.runAgentStream': { params: makeAgent, query: team },
  'runtools.upsertAgent': {},
  'runtools.listAgents': {},
  'runtools.getAgent': { params: runtoolsSlug },
  'runtools.deleteAgent': { params: runtoolsSlug },
  'runtools.run': {},
  'runtools.runAgent': { params: runtoolsSlug },
  'runtools.listThreads': {},
  'runtools.createThread': {},
  'runtools.getThread': { params: runtoolsThread },
  'runtools.listThreadEvents': { params: runtoolsThread },
  'runtools.updateThread': { params: runtoolsThread },
  'runtools.deleteThread': { params: runtoolsThread },
  'runagents.runStarterKit': { anyBody: true },
  'runagents.echo': { anyBody: true },
  'runagents.echoWithSlash': { anyBody: true },
  'runagents.listTools': {},
  'runagents.createTool': {},
  'runagents.listModelProviders': {},
  'runagents.createModelProvider': {},
  'runagents.listPolicies': {},
  'runagents.createPolicy': {},
  'runagents.listAgents': {},
  'runagents.getAgent': { params: runagentsAgent },
  'runagents.deleteAgent': { params: runagentsAgent },
  'runagents.deploy': {},
  'runagents.createRun': {},
  'runagents.listRuns': {},
  'runagents.getRun': { params: runagentsRun },
  'runagents.listRunEvents': { params: runagentsRun },
  'runagents.approveRun': { params: runagentsRun },
  'runagents.denyRun': { params: runagentsRun },
};

interface Case {
  strategy: string;
  request: RawRequest;
  statuses: readonly number[];
}

const printableAscii = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
});

const malformedJson = fc.oneof(
  fc.constantFrom('{', '{"a":', "{'a':1}", '[1,]', '{"a":1,}', 'NaN', '{}x', '"unterminated', '   '),
  fc.string({ minLength: 1, maxLength: 100 }).filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return text.trim() !== '';
    }
  }),
);

const badPathValue = fc.oneof(
  fc.integer({ min: 300, max: 1500 }).map((length) => 'a'.repeat(length)),
  fc.constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF', '%FF', '%ED%A0%80', '%00', 'a%20b', '%2F..%2F'),
  fc.string({ minLength: 1, maxLength: 20 }).map((text) => encodeURIComponent(`${text}\u0000`)),
);

function strategies(operation: CompatCatalogueEntry, input: OperationInput, adminKey: string) {
  const query = new URLSearchParams(input.query ?? {}).toString();
  const pathWith = (params: Record<string, string>, encode = true) =>
    `${compatPath(operation, params, encode)}${query === '' ? '' : `?${query}`}`;
  const path = pathWith(input.params ?? {});
  const base = { method: operation.method, path, headers: surfaceKeyHeaders(operation, adminKey) };
  const json = { 'content-type': 'application/json' };
  const result: fc.Arbitrary<Case>[] = [];
  if (operation.method !== 'GET') {
    result.push(
      malformedJson.map((text) => ({
        strategy: 'malformed JSON',
        request: { ...base, rawBody: text, headers: { ...base.headers, ...json } },
        statuses: [400],
      })),
      fc
        .tuple(fc.constantFrom('text/plain', 'application/xml', 'text/html', 'image/png'), printableAscii)
        .filter(([, text]) => text.length > 0)
        .map(([contentType, text]) => ({
          strategy: 'not JSON',
          request: { ...base, rawBody: text, headers: { ...base.headers, 'content-type': contentType } },
          statuses: [415],
        })),
      fc.integer({ min: bodyLimitBytes + 1, max: bodyLimitBytes * 3 }).map((size) => ({
        strategy: 'too large',
        request: {
          ...base,
          rawBody: JSON.stringify({ padding: 'p'.repeat(size) }),
          headers: { ...base.headers, ...json },
        },
        statuses: [413],
      })),
      // Within the body limit: 600 levels of objects are 3,600 bytes.
      fc.tuple(fc.integer({ min: 65, max: 600 }), fc.boolean()).map(([depth, asArrays]) => ({
        strategy: 'nested too deeply',
        request: {
          ...base,
          rawBody: asArrays
            ? `{"field":${'['.repeat(depth)}${']'.repeat(depth)}}`
            : `{"field":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
          headers: { ...base.headers, ...json },
        },
        statuses: [400],
      })),
    );
    if (input.anyBody !== true) {
      result.push(
        fc
          .oneof(
            fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
            fc.string({ maxLength: 50 }),
            fc.double({ noNaN: true, noDefaultInfinity: true }),
            fc.boolean(),
          )
          .map((value) => ({
            strategy: 'wrong JSON type',
            request: { ...base, rawBody: JSON.stringify(value), headers: { ...base.headers, ...json } },
            // Checked where the handler reads it: some check the path's resource first.
            statuses: [400, 404],
          })),
      );
    }
  }
  const parameterNames = Object.keys(input.params ?? {});
  if (parameterNames.length > 0) {
    result.push(
      fc.tuple(fc.constantFrom(...parameterNames), badPathValue).map(([name, value]) => {
        const encoded = Object.fromEntries(
          Object.entries(input.params ?? {}).map(([key, plain]) => [key, encodeURIComponent(plain)]),
        );
        encoded[name] = value;
        return {
          strategy: 'bad path value',
          request: {
            ...base,
            path: pathWith(encoded, false),
            ...(operation.method !== 'GET' && { json: { zzUnknown: true } }),
          },
          statuses: [400, 404],
        };
      }),
    );
  }
  if (operation.scope !== null) {
    result.push(
      fc
        .oneof(
          printableAscii.map((junk) => ({ authorization: `Bearer ${junk}` })),
          printableAscii.map((junk) => ({ authorization: `Token ${junk}` })),
          printableAscii.map((junk) => ({ authorization: junk })),
          printableAscii.map((junk) => ({ 'x-api-key': junk })),
          fc.constant({}),
        )
        .map((headers) => ({
          strategy: 'bad credentials',
          request: { method: operation.method, path, headers },
          statuses: [401],
        })),
    );
  }
  return result;
}

describe.each(backendNames)('bad input on the compat surfaces on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;
  let adminKeyId: string;
  let before: WorkspaceSnapshot;
  const covered: string[] = [];

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend, { RUNYARD_BODY_LIMIT_BYTES: String(bodyLimitBytes) });
    adminKeyId = await keyIdOf(server.url, server.adminKey, server.adminKey);
    before = await snapshotWorkspace(server.url, server.adminKey, [adminKeyId]);
  });
  afterAll(async () => {
    await server?.close();
  });

  it.skipIf(skip)('the inputs cover exactly the compat operations of the catalogue', () => {
    expectCoversCompatCatalogue(inputs, 'bad-input');
  });

  for (const key of compatKeys) {
    it.skipIf(skip)(`${key} rejects generated bad input with a 4xx in its surface's shape`, async () => {
      const operation = compatOperation(key);
      const input = inputs[key];
      expect(input, `${key} is missing from the bad-input table`).toBeDefined();
      const cases = strategies(operation, input ?? {}, server.adminKey);
      if (cases.length === 0) return;
      await fc.assert(
        fc.asyncProperty(fc.oneof(...cases), async (item) => {
          const response = await send(server.url, item.request);
          const label = `${key} (${item.strategy}) ${item.request.path.slice(0, 120)}`;
          expect(item.statuses, `${label}: ${response.status} ${response.text.slice(0, 300)}`).toContain(
            response.status,
          );
          expectSurfaceError(operation.surface, response, label);
        }),
        { numRuns: runsPerOperation },
      );
      covered.push(compatKey(operation));
    });
  }

  it.skipIf(skip)(
    'a path value no database stores (U+0000) is a 4xx on every operation with one',
    async () => {
      for (const key of compatKeys) {
        const operation = compatOperation(key);
        for (const name of Object.keys(inputs[key]?.params ?? {})) {
          const params = { ...inputs[key]?.params, [name]: 'x\u0000' };
          const query = new URLSearchParams(inputs[key]?.query ?? {}).toString();
          const response = await send(server.url, {
            method: operation.method,
            path: `${compatPath(operation, params)}${query === '' ? '' : `?${query}`}`,
            headers: surfaceKeyHeaders(operation, server.adminKey),
          });
          expect([400, 404], `${key} {${name}}: ${response.status} ${response.text}`).toContain(
            response.status,
          );
          expectSurfaceError(operation.surface, response, `${key} {${name}}`);
        }
      }
    },
  );

  it.skipIf(skip)(
    'nothing was written, the server still serves, and every operation was fed (listed)',
    async () => {
      expect(await snapshotWorkspace(server.url, server.adminKey, [adminKeyId])).toEqual(before);
      expect((await send(server.url, { path: '/healthz' })).status).toBe(200);
      console.log(`bad-input covers the compat operations: ${covered.join(', ')}`);
      expect([...covered].sort()).toEqual([...compatKeys].sort());
    },
  );
});
