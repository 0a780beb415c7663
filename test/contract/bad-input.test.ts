import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes, type ErrorCode, type RouteDefinition } from '@runyard/protocol';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer, testBootstrapKey, type TestServer } from '../support/server.ts';
import {
  expectCatalogueError,
  keyIdOf,
  send,
  snapshotWorkspace,
  type RawRequest,
  type RawResponse,
  type WorkspaceSnapshot,
} from './contract-http.ts';

/**
 * Every route of the catalogue, fed generated input that must be rejected: malformed JSON, wrong
 * types, unknown fields, over-long strings, other media types, oversized bodies, bad path and query
 * values, junk headers. Every answer is a 4xx catalogue error, the process stays up, and nothing is
 * written (every list is the same before and after).
 */

const bodyLimitBytes = 4096;
const runsPerRoute = 40;
const requestIdPattern = /^[A-Za-z0-9_.:-]{1,128}$/;

interface Fixtures {
  workspaceId: string;
  adminKeyId: string;
  apiKeyId: string;
  threadId: string;
  runId: string;
  /** A pending approval (of a run paused on echo). */
  approvalId: string;
}

/** For each operation: path parameters that address an existing resource, and a body that would be valid. */
interface RouteInput {
  params?: (fixtures: Fixtures) => Record<string, string>;
  body?: Record<string, unknown>;
  /**
   * Body fields whose valid values depend on the resource (a tool's input schema), so the handler
   * checks them, after the headers: their cases send a valid Idempotency-Key over the noise.
   */
  checkedByHandler?: readonly string[];
}

const agentParams = () => ({ idOrSlug: 'fixture-agent' });
const secretParams = () => ({ name: 'fixture-secret' });
const providerParams = () => ({ name: 'fixture-provider' });
const threadParams = (fixtures: Fixtures) => ({ threadId: fixtures.threadId });
const runParams = (fixtures: Fixtures) => ({ runId: fixtures.runId });
const toolParams = () => ({ name: 'fixture-tool' });
const policyParams = () => ({ name: 'fixture-policy' });

/** A route missing here fails the suite: a new route needs its valid input before it can be fed bad input. */
const routeInputs: Record<string, RouteInput> = {
  createWorkspace: { body: { name: 'new-workspace' } },
  listWorkspaces: {},
  getWorkspace: { params: (fixtures) => ({ workspaceId: fixtures.workspaceId }) },
  updateWorkspace: {
    params: (fixtures) => ({ workspaceId: fixtures.workspaceId }),
    body: { defaultModel: 'playground/playground' },
  },
  createApiKey: { body: { name: 'new-key', scopes: ['read'] } },
  listApiKeys: {},
  getApiKey: { params: (fixtures) => ({ keyId: fixtures.apiKeyId }) },
  revokeApiKey: { params: (fixtures) => ({ keyId: fixtures.apiKeyId }) },
  createSecret: { body: { name: 'new-secret', value: 'value' } },
  listSecrets: {},
  getSecret: { params: secretParams },
  rotateSecret: { params: secretParams, body: { value: 'rotated' } },
  deleteSecret: { params: secretParams },
  createProvider: { body: { name: 'new-provider', kind: 'openai', models: ['m'] } },
  listProviders: {},
  getProvider: { params: providerParams },
  updateProvider: { params: providerParams, body: { models: ['m2'] } },
  deleteProvider: { params: providerParams },
  testProvider: { params: providerParams, body: {} },
  createAgent: { body: { slug: 'new-agent', name: 'New', model: 'playground/playground' } },
  listAgents: {},
  getAgent: { params: agentParams },
  updateAgent: { params: agentParams, body: { instructions: 'changed' } },
  upsertAgent: {
    params: () => ({ slug: 'fixture-agent' }),
    body: { name: 'Replaced', model: 'playground/playground' },
  },
  deleteAgent: { params: agentParams },
  listAgentVersions: { params: agentParams },
  getAgentVersion: { params: () => ({ idOrSlug: 'fixture-agent', version: '1' }) },
  diffAgentVersions: { params: agentParams },
  promoteAgent: { params: agentParams, body: { version: 1, environment: 'production' } },
  createThread: { body: { title: 'New' } },
  listThreads: {},
  getThread: { params: threadParams },
  updateThread: { params: threadParams, body: { title: 'Renamed' } },
  deleteThread: { params: threadParams },
  listThreadMessages: { params: threadParams },
  createAgentRun: { params: () => ({ idOrSlug: 'fixture-runner' }), body: { input: 'hello' } },
  createRun: { body: { agent: 'fixture-runner', input: 'hello' } },
  listRuns: {},
  getRun: { params: runParams },
  cancelRun: { params: runParams, body: {} },
  listRunEvents: { params: runParams },
  streamRun: { params: runParams },
  listRunDeliveries: { params: runParams },
  listRunArtifacts: { params: runParams },
  // An id of the right form (the cases send bad values of the other parameter, or junk around it).
  getRunArtifact: {
    params: (fixtures) => ({ runId: fixtures.runId, artifactId: 'art_00000000000000000000000000' }),
  },
  runStarterKit: { body: {} },
  createTool: {
    body: { name: 'new-tool', kind: 'http', baseUrl: 'http://127.0.0.1:9', method: 'GET', path: '/x' },
  },
  listTools: {},
  getTool: { params: toolParams },
  updateTool: { params: toolParams, body: { description: 'changed' } },
  deleteTool: { params: toolParams },
  listToolVersions: { params: toolParams },
  // The built-in echo: its input schema refuses anything but {text}, as a model's call would be refused.
  invokeTool: {
    params: () => ({ name: 'echo' }),
    body: { input: { text: 'hello' } },
    checkedByHandler: ['input'],
  },
  refreshTool: { params: toolParams, body: {} },
  createPolicy: {
    body: {
      name: 'new-policy',
      rules: [{ effect: 'allow', resource: 'https://api.example.com/**', operations: ['GET'] }],
    },
  },
  listPolicies: {},
  getPolicy: { params: policyParams },
  updatePolicy: { params: policyParams, body: { description: 'changed' } },
  deletePolicy: { params: policyParams },
  listAudit: {},
  listApprovals: {},
  getApproval: { params: (fixtures) => ({ approvalId: fixtures.approvalId }) },
  approveApproval: { params: (fixtures) => ({ approvalId: fixtures.approvalId }), body: { scope: 'once' } },
  denyApproval: { params: (fixtures) => ({ approvalId: fixtures.approvalId }), body: { reason: 'no' } },
  submitToolOutputs: { params: runParams, body: { outputs: [{ toolCallId: 'call_1', output: 'x' }] } },
};

/** What a generated request must get: the status (and code, when one is certain). */
interface Expected {
  statuses: readonly number[];
  codes: readonly ErrorCode[];
  /** For VALIDATION_FAILED: where, and a field that details.issues must name. */
  location?: 'body' | 'query' | 'path';
  field?: string;
}

interface Case {
  strategy: string;
  request: RawRequest;
  expected: Expected;
}

// ---- generators ----------------------------------------------------------------------------

/** An unknown field or query name: no schema has a field starting with `zz`. */
const unknownName = fc.stringMatching(/^zz[A-Za-z0-9_]{0,12}$/);

const printableAscii = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
});

/** Junk in the headers that must not change the answer. */
const noiseHeaders = fc.record(
  {
    'if-match': printableAscii,
    'idempotency-key': fc.oneof(printableAscii, fc.string({ maxLength: 300 })).map(asHeaderValue),
    'x-request-id': fc.oneof(printableAscii, fc.constant('a'.repeat(200)), fc.constant('req id with spaces')),
    'x-api-key': printableAscii,
    accept: fc.constantFrom('text/html', '*/*', 'application/xml', 'junk', 'text/event-stream'),
    'last-event-id': printableAscii,
    'x-zz-junk': printableAscii,
  },
  { requiredKeys: [] },
);

/** A header value fetch accepts: Latin-1, no control characters. */
function asHeaderValue(value: string): string {
  return [...value].map((character) => (/^[\x20-\x7e\xa0-\xff]$/.test(character) ? character : '?')).join('');
}

const oddCharacter = fc.constantFrom(
  ' ',
  '!',
  '"',
  '#',
  '$',
  '%',
  '&',
  "'",
  '(',
  ')',
  '*',
  '+',
  ',',
  '/',
  ':',
  ';',
  '<',
  '=',
  '>',
  '?',
  '@',
  '[',
  '\\',
  ']',
  '^',
  '`',
  '{',
  '|',
  '}',
  '~',
  '\u0000',
  '\n',
  '\t',
  'é',
  'Ω',
  '😀',
  '\u202e',
);

/** A path value no schema accepts or no resource has: an odd character, too long, or percent junk. */
const badPathValue = fc.oneof(
  fc
    .tuple(fc.string({ unit: 'grapheme', maxLength: 20 }), oddCharacter, fc.string({ maxLength: 20 }))
    .map(([before, odd, after]) => encodeURIComponent(before + odd + after)),
  fc.integer({ min: 129, max: 1500 }).map((length) => 'a'.repeat(length)),
  fc.integer({ min: 60, max: 700 }).map((length) => encodeURIComponent('é'.repeat(length))),
  fc.constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF', '%FF', '%ED%A0%80', '%%', '%2', 'a%', '%u0041', '%00'),
  fc
    .array(fc.constantFrom('%', 'z', '0', 'F', 'e', '%2', '%E0'), { minLength: 1, maxLength: 12 })
    .map((parts) => `%${parts.join('')}`),
);

/** A version no agent has, or no number at all. */
const badVersion = fc.oneof(
  fc.constantFrom('0', '-1', '1.5', 'abc', '1e400', '99999999999999999999', 'NaN', '0x10', '1,0'),
  fc.integer({ min: 3, max: Number.MAX_SAFE_INTEGER }).map(String),
  fc.bigInt({ min: 2n ** 31n, max: 2n ** 70n }).map(String),
);

const jsonValue = fc.jsonValue({ maxDepth: 2 });

const malformedJson = fc.oneof(
  fc.constantFrom(
    '{',
    '{"a":',
    "{'a':1}",
    '{a:1}',
    '[1,]',
    '{"a":1,}',
    'NaN',
    'undefined',
    '{}x',
    '{"a":1}{"b":2}',
    '"unterminated',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '\u0000',
    '   ',
    '',
  ),
  fc.string({ maxLength: 200 }).filter((text) => !isJson(text)),
  jsonValue.map((value) => `${JSON.stringify(value)}}`),
);

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const otherMediaType = fc.constantFrom(
  'text/plain',
  'text/plain; charset=utf-8',
  'text/html',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'image/png',
  'application/jsonx',
  'application/x-json',
  'text/json',
);

// ---- strategies ----------------------------------------------------------------------------

function pathFor(route: RouteDefinition, params: Record<string, string>, encode = true): string {
  return route.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${route.operationId}: no value for {${name}}`);
    return encode ? encodeURIComponent(value) : value;
  });
}

function pathParameterNames(route: RouteDefinition): string[] {
  return [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] ?? '');
}

const hasBody = (route: RouteDefinition) => route.body !== undefined;
/** Fetch sends no body with GET; DELETE bodies are parsed (and must be rejected when they are not JSON). */
const takesRawBody = (route: RouteDefinition) => route.method !== 'GET';

function strategies(route: RouteDefinition, input: RouteInput, fixtures: Fixtures): fc.Arbitrary<Case>[] {
  const validPath = pathFor(route, input.params?.(fixtures) ?? {});
  const sample = input.body ?? {};
  const base = { method: route.method, path: validPath, apiKey: testKey } as const;
  const result: fc.Arbitrary<Case>[] = [];
  // Generated JSON may (rarely) hold a `__proto__` or `constructor` key, which the parser refuses.
  const withinLimit = (text: string, expected: Expected): Expected =>
    Buffer.byteLength(text) > bodyLimitBytes
      ? { statuses: [413], codes: ['PAYLOAD_TOO_LARGE'] }
      : /"(__proto__|constructor)"/.test(text)
        ? { statuses: [400], codes: ['INVALID_JSON', 'VALIDATION_FAILED'] }
        : expected;

  // Unknown query names (and junk in known ones) on every route.
  result.push(
    fc
      .tuple(
        unknownName,
        fc.string({ maxLength: 30 }),
        fc.dictionary(
          fc.constantFrom('limit', 'cursor', 'from', 'to', 'status', 'tag'),
          fc.string({ maxLength: 30 }),
          { maxKeys: 3 },
        ),
      )
      .map(([name, value, known]) => ({
        strategy: 'unknown query parameter',
        request: {
          ...base,
          path: `${validPath}?${new URLSearchParams({ ...known, [name]: value }).toString()}`,
          ...(hasBody(route) && { json: sample }),
        },
        expected: { statuses: [400], codes: ['VALIDATION_FAILED'], location: 'query', field: name },
      })),
  );

  // Values the query schema rejects, without any unknown name.
  if (route.query !== undefined) {
    const knownNames = Object.keys((route.query as unknown as { shape: Record<string, unknown> }).shape);
    const badValues: Record<string, fc.Arbitrary<string>> = {
      limit: fc.constantFrom('0', '-1', '100001', '1.5', 'abc', '', '1e999', ' ', 'Infinity'),
      cursor: fc.oneof(
        fc.integer({ min: 201, max: 1000 }).map((length) => 'c'.repeat(length)),
        fc.string({ maxLength: 20 }).map((text) => `${text}\u0000`),
      ),
      tag: fc.integer({ min: 65, max: 300 }).map((length) => 't'.repeat(length)),
      category: fc.integer({ min: 101, max: 300 }).map((length) => 'c'.repeat(length)),
      status: fc.string({ maxLength: 20 }).filter((text) => !['active', 'paused', 'archived'].includes(text)),
      search: fc.oneof(
        fc.integer({ min: 201, max: 600 }).map((length) => 's'.repeat(length)),
        fc.string({ maxLength: 20 }).map((text) => `\u0000${text}`),
      ),
      from: fc.constantFrom('0', '-3', 'x', '1.5', ''),
      to: fc.constantFrom('0', '-3', 'x', '1.5', ''),
      after: fc.constantFrom('-1', 'x', '1.5', '1e999', 'Infinity'),
      order: fc.string({ maxLength: 10 }).filter((text) => text !== 'asc' && text !== 'desc'),
      agent: fc.oneof(
        fc.integer({ min: 129, max: 400 }).map((length) => 'a'.repeat(length)),
        fc.string({ maxLength: 20 }).map((text) => `${text}\u0000`),
      ),
      thread: fc.string({ maxLength: 40 }).filter((text) => !/^thr_[0-9a-hjkmnp-tv-z]{26}$/.test(text)),
    };
    const candidates = knownNames.filter((name) => badValues[name] !== undefined);
    if (candidates.length > 0) {
      result.push(
        fc
          .constantFrom(...candidates)
          .chain((name) => fc.tuple(fc.constant(name), badValues[name] ?? fc.constant('')))
          .map(([name, value]) => {
            // diff needs both numbers: give the other a valid one so only `name` is wrong.
            const query: Record<string, string> =
              route.operationId === 'diffAgentVersions' ? { from: '1', to: '2' } : {};
            query[name] = value;
            return {
              strategy: 'bad query value',
              request: { ...base, path: `${validPath}?${new URLSearchParams(query).toString()}` },
              expected: { statuses: [400], codes: ['VALIDATION_FAILED'], location: 'query', field: name },
            };
          }),
      );
    }
  }

  // Bad path values, one parameter at a time (the others valid).
  const parameterNames = pathParameterNames(route);
  if (parameterNames.length > 0) {
    result.push(
      fc
        .constantFrom(...parameterNames)
        .chain((name) =>
          fc.tuple(fc.constant(name), name === 'version' ? fc.oneof(badVersion, badPathValue) : badPathValue),
        )
        .map(([name, value]) => {
          const params = { ...(input.params?.(fixtures) ?? {}) };
          const encoded: Record<string, string> = {};
          for (const [key, plain] of Object.entries(params)) encoded[key] = encodeURIComponent(plain);
          encoded[name] = value;
          return {
            strategy: 'bad path value',
            request: {
              ...base,
              path: pathFor(route, encoded, false),
              ...(hasBody(route) && { json: { ...sample, zzUnknown: true } }),
            },
            expected: { statuses: [400, 404], codes: ['VALIDATION_FAILED', 'NOT_FOUND', 'ROUTE_NOT_FOUND'] },
          };
        }),
    );
  }

  if (hasBody(route)) {
    const fieldNames = Object.keys(sample);
    // The valid sample, some fields replaced by anything (or over-long text), plus an unknown field.
    result.push(
      fc
        .tuple(
          unknownName,
          jsonValue,
          fc.dictionary(
            fieldNames.length > 0 ? fc.constantFrom(...fieldNames) : fc.constant('name'),
            fc.oneof(
              jsonValue,
              fc.integer({ min: 129, max: 3000 }).map((length) => 'x'.repeat(length)),
            ),
            { maxKeys: 3 },
          ),
        )
        .map(([name, value, replaced]) => {
          const body = Object.fromEntries([...Object.entries({ ...sample, ...replaced }), [name, value]]);
          const text = JSON.stringify(body);
          return {
            strategy: 'unknown field',
            request: { ...base, rawBody: text, headers: { 'content-type': 'application/json' } },
            expected: withinLimit(text, {
              statuses: [400],
              codes: ['VALIDATION_FAILED'],
              location: 'body',
              field: name,
            }),
          };
        }),
    );
    // Nested deeper than any field allows (the stack of a recursive serializer would overflow).
    result.push(
      fc
        .tuple(
          fieldNames.length > 0 ? fc.oneof(fc.constantFrom(...fieldNames), unknownName) : unknownName,
          fc.integer({ min: 65, max: 1900 }),
          fc.boolean(),
        )
        .map(([field, depth, asArrays]) => {
          const nested = asArrays
            ? `${'['.repeat(depth)}${']'.repeat(depth)}`
            : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
          const text = `${JSON.stringify({ ...sample, [field]: 0 })
            .slice(0, -1)
            .replace(`"${field}":0`, `"${field}":${nested}`)}}`;
          return {
            strategy: 'nested too deeply',
            request: { ...base, rawBody: text, headers: { 'content-type': 'application/json' } },
            expected: withinLimit(text, {
              statuses: [400],
              codes: ['VALIDATION_FAILED'],
              location: 'body',
              field,
            }),
          };
        }),
    );
    // Text no database stores as sent: U+0000, unpaired surrogates.
    const textFields = fieldNames.filter((field) => typeof sample[field] === 'string');
    if (textFields.length > 0) {
      result.push(
        fc
          .tuple(
            fc.constantFrom(...textFields),
            fc.constantFrom('\u0000', '\ud800', 'x\udc00', 'a\ud83d', '\u0000\u0000'),
          )
          .map(([field, bad]) => ({
            strategy: 'text a database cannot store',
            request: { ...base, json: { ...sample, [field]: `${String(sample[field])}${bad}` } },
            expected: { statuses: [400], codes: ['VALIDATION_FAILED'], location: 'body', field },
          })),
      );
    }
    // Not an object at all.
    result.push(
      fc
        .oneof(
          fc.array(jsonValue, { maxLength: 4 }),
          fc.string({ maxLength: 50 }),
          fc.double(),
          fc.boolean(),
          fc.constant(null),
        )
        .map((value) => {
          const text = JSON.stringify(value) ?? 'null';
          return {
            strategy: 'wrong JSON type',
            request: { ...base, rawBody: text, headers: { 'content-type': 'application/json' } },
            expected: withinLimit(text, { statuses: [400], codes: ['VALIDATION_FAILED'], location: 'body' }),
          };
        }),
    );
    // Each known field set to a value of a definitely wrong type: an object where none takes one.
    if (fieldNames.length > 0) {
      result.push(
        fc.constantFrom(...fieldNames).map((field) => ({
          strategy: 'wrong field type',
          request: {
            ...base,
            json: { ...sample, [field]: { zzNested: [1, 2, 3] } },
            ...(input.checkedByHandler?.includes(field) === true && {
              headers: { 'idempotency-key': `checked-by-handler-${field}` },
            }),
          },
          expected: { statuses: [400], codes: ['VALIDATION_FAILED'], location: 'body', field },
        })),
      );
    }
  }

  if (takesRawBody(route)) {
    result.push(
      malformedJson.map((text) => ({
        strategy: 'malformed JSON',
        request: { ...base, rawBody: text, headers: { 'content-type': 'application/json' } },
        expected: { statuses: [400], codes: ['INVALID_JSON'] },
      })),
      fc
        .tuple(
          otherMediaType,
          fc.oneof(
            fc.string({ minLength: 1, maxLength: 200 }),
            jsonValue.map((value) => JSON.stringify(value)),
          ),
        )
        .filter(([, text]) => text.length > 0)
        .map(([contentType, text]) => ({
          strategy: 'not JSON',
          request: { ...base, rawBody: text, headers: { 'content-type': contentType } },
          expected: { statuses: [415], codes: ['UNSUPPORTED_MEDIA_TYPE'] },
        })),
      fc.uint8Array({ minLength: 1, maxLength: 100 }).map((bytes) => ({
        strategy: 'no content type',
        request: { ...base, rawBody: bytes },
        expected: { statuses: [415], codes: ['UNSUPPORTED_MEDIA_TYPE'] },
      })),
      fc.integer({ min: bodyLimitBytes + 1, max: bodyLimitBytes * 4 }).map((size) => ({
        strategy: 'too large',
        request: {
          ...base,
          rawBody: JSON.stringify({ ...sample, zzPadding: 'p'.repeat(size) }),
          headers: { 'content-type': 'application/json' },
        },
        expected: { statuses: [413], codes: ['PAYLOAD_TOO_LARGE'] },
      })),
    );
  }

  // No key, or one that is not a key: 401 before anything else is looked at.
  result.push(
    fc
      .oneof(
        printableAscii.map((junk) => ({ authorization: `Bearer ${junk}` })),
        printableAscii.map((junk) => ({ authorization: junk })),
        printableAscii.map((junk) => ({ 'x-api-key': junk })),
        fc.constant({}),
      )
      .map((headers) => ({
        strategy: 'bad credentials',
        request: { method: route.method, path: validPath, headers },
        expected: { statuses: [401], codes: ['UNAUTHENTICATED'] },
      })),
  );
  return result;
}

/** The admin key of the test server: every generated request is otherwise authorised. */
const testKey = testBootstrapKey;

function checkAnswer(route: RouteDefinition, item: Case, response: RawResponse): void {
  const label = `${route.operationId} (${item.strategy}) ${item.request.method} ${item.request.path.slice(0, 120)}`;
  expect(response.status, `${label}: ${response.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(response.status, `${label}: ${response.text.slice(0, 300)}`).toBeLessThan(500);
  const error = expectCatalogueError(response, label);
  expect(item.expected.statuses, `${label}: ${response.text.slice(0, 300)}`).toContain(response.status);
  expect(item.expected.codes, `${label}: ${response.text.slice(0, 300)}`).toContain(error.code);
  expect(response.headers.get('x-request-id') ?? '', label).toMatch(requestIdPattern);
  if (error.code === 'VALIDATION_FAILED' && item.expected.location !== undefined) {
    expect(error.details.location, `${label}: ${response.text.slice(0, 300)}`).toBe(item.expected.location);
    const issues = error.details.issues as { path: string; message: string; code: string }[];
    expect(issues.length, label).toBeGreaterThan(0);
    if (item.expected.field !== undefined) {
      expect(
        issues.map((issue) => issue.path.split('.')[0]),
        `${label}: ${response.text.slice(0, 300)}`,
      ).toContain(item.expected.field);
    }
  }
}

describe.each(backendNames)('bad input on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;
  let fixtures: Fixtures;
  let before: WorkspaceSnapshot;

  const snapshot = () => snapshotWorkspace(server.url, server.adminKey, [fixtures.adminKeyId]);

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend, { RUNYARD_BODY_LIMIT_BYTES: String(bodyLimitBytes) });
    const admin = server.admin;
    await admin.secrets.create({ name: 'fixture-secret', value: 'a-secret-value' });
    await admin.providers.create({
      name: 'fixture-provider',
      kind: 'openai-compatible',
      baseUrl: 'http://127.0.0.1:9/v1',
      apiKey: { secret: 'fixture-secret' },
      models: ['m1'],
    });
    await admin.agents.create({
      slug: 'fixture-agent',
      name: 'Fixture agent',
      model: 'fixture-provider/m1',
      tags: ['alpha'],
      env: { TOKEN: { secret: 'fixture-secret' } },
    });
    await admin.agents.update('fixture-agent', { instructions: 'Version two.' });
    await admin.agents.create({ slug: 'fixture-runner', name: 'Runner', model: 'playground/playground' });
    await admin.tools.create({
      name: 'fixture-tool',
      kind: 'http',
      baseUrl: 'http://127.0.0.1:9',
      auth: { type: 'bearer', token: { secret: 'fixture-secret' } },
    });
    await admin.policies.create({
      name: 'fixture-policy',
      rules: [{ effect: 'deny', resource: 'tool:fixture-*', operations: ['*'] }],
    });
    // One decision in the audit log (echo, allowed by default), so a list of it is not empty.
    await admin.tools.invoke('echo', { text: 'audited' });
    const thread = await send(server.url, {
      method: 'POST',
      path: '/v1/threads',
      apiKey: testKey,
      json: { title: 'Fixture thread' },
    });
    expect(thread.status, thread.text).toBe(201);
    const threadId = (thread.body as { id: string }).id;
    const run = await send(server.url, {
      method: 'POST',
      path: '/v1/agents/fixture-runner/runs',
      apiKey: testKey,
      json: { input: 'hello', threadId },
    });
    expect((run.body as { status?: string }).status, run.text).toBe('succeeded');
    await admin.policies.create({
      name: 'fixture-approval',
      rules: [{ effect: 'approval_required', resource: 'tool:echo', operations: ['*'] }],
    });
    await admin.agents.create({
      slug: 'fixture-approver',
      name: 'Approver',
      model: 'playground/playground',
      tools: ['echo'],
      policies: ['fixture-approval'],
    });
    const paused = await admin.runs.create('fixture-approver', {
      input: 'use echo {"text":"x"}',
      stateless: true,
    });
    const [approval] = (await admin.approvals.list({ runId: paused.id })).data;
    if (approval === undefined) throw new Error('no approval');
    const apiKey = await admin.apiKeys.create({ name: 'fixture-key', scopes: ['read'] });
    await admin.workspaces.create({ name: 'second' });
    const workspaces = await admin.workspaces.list();
    const own = workspaces.data.find((workspace) => workspace.teamId === 1);
    if (own === undefined) throw new Error('no default workspace');
    fixtures = {
      workspaceId: own.id,
      adminKeyId: await keyIdOf(server.url, server.adminKey, server.adminKey),
      apiKeyId: apiKey.id,
      threadId,
      runId: (run.body as { id: string }).id,
      approvalId: approval.id,
    };
    before = await snapshot();
  });

  afterAll(async () => {
    await server?.close();
  });

  it.skipIf(skip)('covers every route of the catalogue, and every body route has a valid sample', () => {
    const operationIds = Object.keys(routes);
    expect(operationIds.filter((operationId) => routeInputs[operationId] === undefined)).toEqual([]);
    expect(Object.keys(routeInputs).filter((operationId) => !operationIds.includes(operationId))).toEqual([]);
    for (const [operationId, route] of Object.entries(routes) as [string, RouteDefinition][]) {
      const input = routeInputs[operationId];
      expect(input?.body !== undefined, `${operationId}: sample body`).toBe(route.body !== undefined);
      if (route.body !== undefined) {
        // The sample is valid, so each generated variant is wrong only for the reason it was made.
        expect(route.body.safeParse(input?.body).success, `${operationId}: sample body is valid`).toBe(true);
      }
      expect(Object.keys(input?.params?.(fixtures) ?? {}).sort()).toEqual(pathParameterNames(route).sort());
    }
    // `demo` is the starter kit's, created by the first start.
    expect(before.agents.map((agent) => agent.slug).sort()).toEqual([
      'demo',
      'fixture-agent',
      'fixture-approver',
      'fixture-runner',
    ]);
    const fixtureAgent = before.agents.find((agent) => agent.slug === 'fixture-agent');
    expect(before.agentVersions[String(fixtureAgent?.id)]).toHaveLength(2);
    expect(before.threads).toHaveLength(1);
    // The fixture run, and the run paused for the fixture approval.
    expect(before.runs).toHaveLength(2);
    expect(before.secrets).toHaveLength(1);
    expect(before.providers).toHaveLength(2);
    expect(before.apiKeys).toHaveLength(2);
    expect(before.workspaces).toHaveLength(2);
    expect(before.tools.filter((tool) => tool.builtIn !== true).map((tool) => tool.name)).toEqual([
      'fixture-tool',
    ]);
    expect(before.policies.map((policy) => policy.name).sort()).toEqual([
      'fixture-approval',
      'fixture-policy',
    ]);
    // The direct invoke, and the paused run's approval_required decision.
    expect(before.audit.map((entry) => entry.toolName)).toEqual(['echo', 'echo']);
  });

  for (const [operationId, route] of Object.entries(routes) as [string, RouteDefinition][]) {
    it.skipIf(skip)(`${operationId} rejects generated bad input with a 4xx catalogue error`, async () => {
      const input = routeInputs[operationId];
      expect(input, `${operationId} is missing from routeInputs`).toBeDefined();
      const arbitrary = fc.tuple(fc.oneof(...strategies(route, input ?? {}, fixtures)), noiseHeaders);
      await fc.assert(
        fc.asyncProperty(arbitrary, async ([item, noise]) => {
          const request = { ...item.request, headers: { ...noise, ...item.request.headers } };
          const response = await send(server.url, request);
          checkAnswer(route, { ...item, request }, response);
        }),
        { numRuns: runsPerRoute },
      );
    });
  }

  it.skipIf(skip)('answers unknown routes and methods with 404 ROUTE_NOT_FOUND', async () => {
    const registered = new Set(
      (Object.values(routes) as RouteDefinition[]).map((route) => `${route.method} ${route.path}`),
    );
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
    for (const route of Object.values(routes) as RouteDefinition[]) {
      const path = pathFor(route, routeInputs[route.operationId]?.params?.(fixtures) ?? {});
      for (const method of methods) {
        if (registered.has(`${method} ${route.path}`)) continue;
        // Another template may match the same concrete path (e.g. PUT /v1/agents/{slug}).
        const otherMatch = (Object.values(routes) as RouteDefinition[]).some(
          (other) =>
            other.method === method && new RegExp(`^${other.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(path),
        );
        if (otherMatch) continue;
        const response = await send(server.url, { method, path, apiKey: testKey });
        expect(expectCatalogueError(response, `${method} ${path}`).code).toBe('ROUTE_NOT_FOUND');
      }
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...methods),
        fc.constantFrom('/v1/', '/', '/v2/', '/v1/agents/fixture-agent/', '/v1/secrets/fixture-secret/'),
        fc.array(fc.stringMatching(/^zz[A-Za-z0-9._~-]{0,16}$/), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (method, prefix, segments, withKey) => {
          const path = `${prefix}${segments.join('/')}`;
          const response = await send(server.url, { method, path, ...(withKey && { apiKey: testKey }) });
          const error = expectCatalogueError(response, `${method} ${path}`);
          expect(error.code).toBe('ROUTE_NOT_FOUND');
          expect(response.headers.get('x-request-id') ?? '').toMatch(requestIdPattern);
        },
      ),
      { numRuns: 60 },
    );
  });

  describe('names the field that is wrong', () => {
    const cases: {
      name: string;
      request: () => RawRequest;
      location: string;
      path: string;
      code?: string;
    }[] = [
      {
        name: 'an unknown body field',
        request: () => ({
          method: 'POST',
          path: '/v1/agents',
          apiKey: testKey,
          json: { slug: 'ok-slug', name: 'Ok', model: 'playground/playground', zzUnknown: 1 },
        }),
        location: 'body',
        path: 'zzUnknown',
        code: 'unrecognized_keys',
      },
      {
        name: 'a field of the wrong type',
        request: () => ({
          method: 'POST',
          path: '/v1/agents',
          apiKey: testKey,
          json: { slug: 'ok-slug', name: 123, model: 'playground/playground' },
        }),
        location: 'body',
        path: 'name',
        code: 'invalid_type',
      },
      {
        name: 'a nested field of the wrong type',
        request: () => ({
          method: 'PATCH',
          path: '/v1/agents/fixture-agent',
          apiKey: testKey,
          json: { settings: { temperature: 'hot' } },
        }),
        location: 'body',
        path: 'settings.temperature',
        code: 'invalid_type',
      },
      {
        name: 'an over-long slug',
        request: () => ({
          method: 'POST',
          path: '/v1/agents',
          apiKey: testKey,
          json: { slug: 'a'.repeat(65), name: 'Long', model: 'playground/playground' },
        }),
        location: 'body',
        path: 'slug',
      },
      {
        name: 'an over-long secret name',
        request: () => ({
          method: 'POST',
          path: '/v1/secrets',
          apiKey: testKey,
          json: { name: 's'.repeat(129), value: 'v' },
        }),
        location: 'body',
        path: 'name',
      },
      {
        name: 'a NUL character in a body string',
        request: () => ({
          method: 'POST',
          path: '/v1/agents',
          apiKey: testKey,
          json: { slug: 'nul-agent', name: 'Nul\u0000', model: 'playground/playground' },
        }),
        location: 'body',
        path: 'name',
      },
      {
        name: 'a NUL character in a body key',
        request: () => ({
          method: 'PATCH',
          path: '/v1/agents/fixture-agent',
          apiKey: testKey,
          json: { metadata: { 'a\u0000b': 1 } },
        }),
        location: 'body',
        path: 'metadata',
      },
      {
        name: 'an unpaired surrogate in a body string',
        request: () => ({
          method: 'POST',
          path: '/v1/agents',
          apiKey: testKey,
          json: { slug: 'surrogate-agent', name: 'Half \ud83d', model: 'playground/playground' },
        }),
        location: 'body',
        path: 'name',
      },
      {
        name: 'a body nested too deeply',
        request: () => ({
          method: 'PATCH',
          path: '/v1/agents/fixture-agent',
          apiKey: testKey,
          rawBody: `{"metadata":{"a":${'['.repeat(1500)}${']'.repeat(1500)}}}`,
          headers: { 'content-type': 'application/json' },
        }),
        location: 'body',
        path: `metadata.a${'.0'.repeat(63)}`,
      },
      {
        name: 'an output schema nested too deeply',
        request: () => ({
          method: 'PATCH',
          path: '/v1/agents/fixture-agent',
          apiKey: testKey,
          rawBody: `{"outputSchema":${'{"not":'.repeat(400)}{}${'}'.repeat(400)}}`,
          headers: { 'content-type': 'application/json' },
        }),
        location: 'body',
        path: `outputSchema${'.not'.repeat(64)}`,
      },
      {
        name: 'a malformed id in the path',
        request: () => ({ path: '/v1/api-keys/not-a-key', apiKey: testKey }),
        location: 'path',
        path: 'keyId',
      },
      {
        name: 'a NUL character in the path',
        request: () => ({ path: '/v1/agents/%00fixture-agent', apiKey: testKey }),
        location: 'path',
        path: 'idOrSlug',
      },
      {
        name: 'a bad query value',
        request: () => ({ path: '/v1/agents?limit=0', apiKey: testKey }),
        location: 'query',
        path: 'limit',
      },
      {
        name: 'a NUL character in a query value',
        request: () => ({ path: '/v1/agents?search=%00', apiKey: testKey }),
        location: 'query',
        path: 'search',
      },
      {
        name: 'a NUL character in the cursor',
        request: () => ({ path: '/v1/secrets?cursor=a%00', apiKey: testKey }),
        location: 'query',
        path: 'cursor',
      },
      {
        name: 'a query parameter on a route without any',
        request: () => ({ path: '/v1/secrets/fixture-secret?zzExtra=1', apiKey: testKey }),
        location: 'query',
        path: 'zzExtra',
        code: 'unrecognized_keys',
      },
    ];
    for (const item of cases) {
      it.skipIf(skip)(item.name, async () => {
        const request = item.request();
        const response = await send(server.url, request);
        const error = expectCatalogueError(response, item.name);
        expect(error.code, response.text).toBe('VALIDATION_FAILED');
        expect(error.details.location).toBe(item.location);
        const issues = error.details.issues as { path: string; code: string }[];
        expect(issues[0]?.path, response.text).toBe(item.path);
        if (item.code !== undefined) expect(issues[0]?.code).toBe(item.code);
        // The message names the field first.
        expect(error.message).toContain(item.path);
      });
    }
  });

  describe('rejects bodies before any handler runs', () => {
    it.skipIf(skip)('a text/plain body on a write route is 415, and nothing is written', async () => {
      for (const [method, path] of [
        ['POST', '/v1/secrets'],
        ['DELETE', '/v1/secrets/fixture-secret'],
        ['DELETE', `/v1/api-keys/${fixtures.apiKeyId}`],
        ['DELETE', '/v1/agents/fixture-agent'],
        ['POST', '/v1/agents/fixture-agent/promote'],
      ] as const) {
        const response = await send(server.url, {
          method,
          path,
          apiKey: testKey,
          rawBody: JSON.stringify({ version: 1, environment: 'production' }),
          headers: { 'content-type': 'text/plain' },
        });
        expect(expectCatalogueError(response, `${method} ${path}`).code).toBe('UNSUPPORTED_MEDIA_TYPE');
      }
      expect(await snapshot()).toEqual(before);
    });

    it.skipIf(skip)('a body over RUNYARD_BODY_LIMIT_BYTES is 413', async () => {
      const response = await send(server.url, {
        method: 'POST',
        path: '/v1/secrets',
        apiKey: testKey,
        json: { name: 'big', value: 'v'.repeat(bodyLimitBytes) },
      });
      expect(response.status).toBe(413);
      expect(expectCatalogueError(response).code).toBe('PAYLOAD_TOO_LARGE');
    });

    it.skipIf(skip)('a malformed URL is a 400 catalogue error, not a framework body', async () => {
      for (const path of ['/v1/agents/%zz', '/v1/secrets/%E0%A4%A', `/v1/agents/${'a'.repeat(600)}`]) {
        const response = await send(server.url, { path, apiKey: testKey });
        expect(response.status, `${path}: ${response.text}`).toBe(400);
        expect(expectCatalogueError(response, path).code).toBe('VALIDATION_FAILED');
        expect(response.headers.get('x-request-id') ?? '').toMatch(requestIdPattern);
      }
    });

    it.skipIf(skip)('a version beyond 32 bits is simply not found', async () => {
      for (const path of [
        '/v1/agents/fixture-agent/versions/2147483648',
        '/v1/agents/fixture-agent/versions/9007199254740991',
        '/v1/agents/fixture-agent/diff?from=1&to=2147483648',
      ]) {
        const response = await send(server.url, { path, apiKey: testKey });
        expect(expectCatalogueError(response, path).code).toBe('NOT_FOUND');
      }
      const promote = await send(server.url, {
        method: 'POST',
        path: '/v1/agents/fixture-agent/promote',
        apiKey: testKey,
        json: { version: 2147483648, environment: 'production' },
      });
      expect(expectCatalogueError(promote).code).toBe('VALIDATION_FAILED');
    });
  });

  it.skipIf(skip)('wrote nothing, and the process still answers', async () => {
    expect(await snapshot()).toEqual(before);
    const health = await send(server.url, { path: '/healthz' });
    expect(health.status).toBe(200);
    const ready = await send(server.url, { path: '/readyz' });
    expect(ready.status).toBe(200);
    expect(server.logs.filter((line) => line.includes('"unhandled error"'))).toEqual([]);
  });
});
