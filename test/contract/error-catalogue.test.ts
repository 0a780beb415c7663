import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, errorCatalogue, errorCodes, runErrorCatalogue, type ErrorCode } from '@runyard/protocol';
import {
  ConflictError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  errorForStatus,
} from '@runyard/sdk';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { unusedPort } from '../support/ports.ts';

/** A loopback HTTP server that only counts what reaches it. */
async function startCountingServer(): Promise<{
  url: string;
  requests: () => number;
  close: () => Promise<void>;
}> {
  let count = 0;
  const server = http.createServer((_request, response) => {
    count += 1;
    response.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
import { expectCatalogueError, send, type RawRequest, type RawResponse } from './contract-http.ts';

const markdown = fs.readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const issuedRequestId = /^req_[0-9a-hjkmnp-tv-z]{26}$/;

function section(heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`docs/errors.md has no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + 4);
  return markdown.slice(start, end === -1 ? undefined : end);
}

/** Rows of the first markdown table in a section whose first cell is a `CODE`, as trimmed cells. */
function codeRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => /^\|\s*`[A-Z_]+`\s*\|/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
}

interface DocumentedError {
  code: string;
  status: number;
  category: string;
  retryable: boolean;
  sdkClass: string;
  meaning: string;
}

const documented: DocumentedError[] = codeRows(section('HTTP errors')).map((cells) => {
  const [code = '', status = '', category = '', retryable = '', sdkClass = '', meaning = ''] = cells;
  return {
    code: code.replaceAll('`', ''),
    status: Number(status),
    category,
    retryable: retryable === 'yes' ? true : retryable === 'no' ? false : (undefined as unknown as boolean),
    sdkClass: sdkClass.replaceAll('`', ''),
    meaning,
  };
});

describe('docs/errors.md', () => {
  it('documents every code of the catalogue, and no other', () => {
    const codes = documented.map((row) => row.code);
    expect(new Set(codes).size, 'a code is documented twice').toBe(codes.length);
    expect(
      errorCodes.filter((code) => !codes.includes(code)),
      'codes missing from docs/errors.md',
    ).toEqual([]);
    expect(
      codes.filter((code) => !(errorCodes as string[]).includes(code)),
      'documented codes the catalogue no longer has',
    ).toEqual([]);
  });

  it("gives each code the catalogue's status, category and retryability, and a meaning", () => {
    for (const row of documented) {
      const definition = errorCatalogue[row.code as ErrorCode];
      expect(
        { status: row.status, category: row.category, retryable: row.retryable },
        `docs/errors.md row of ${row.code}`,
      ).toEqual({
        status: definition.status,
        category: definition.category,
        retryable: definition.retryable,
      });
      expect(row.meaning.length, `${row.code} has no meaning`).toBeGreaterThan(20);
    }
  });

  it('names the SDK class each status becomes', () => {
    for (const row of documented) {
      const error = errorForStatus(row.status, { code: row.code, message: 'm', details: {} }, undefined);
      expect(error.name, `SDK class of ${row.code}`).toBe(row.sdkClass);
      expect(error.code).toBe(row.code);
    }
  });

  it("lists exactly the run error codes, each with the catalogue's meaning", () => {
    const rows = codeRows(section('Run errors')).map(([code = '', meaning = '']) => ({
      code: code.replaceAll('`', ''),
      meaning: meaning.replaceAll('`', ''),
    }));
    const codes = rows.map((row) => row.code);
    const catalogued = Object.keys(runErrorCatalogue);
    expect(new Set(codes).size, 'a run error code is documented twice').toBe(codes.length);
    expect(
      catalogued.filter((code) => !codes.includes(code)),
      'runErrorCatalogue codes missing from the Run errors table',
    ).toEqual([]);
    expect(
      codes.filter((code) => !catalogued.includes(code)),
      'Run errors table codes that runErrorCatalogue does not have',
    ).toEqual([]);
    for (const row of rows) {
      // The table is the catalogue's text, with code spans added.
      expect(row.meaning, `meaning of ${row.code}`).toBe(
        runErrorCatalogue[row.code as keyof typeof runErrorCatalogue],
      );
    }
  });

  it('shows the error body shape', () => {
    expect(markdown).toContain('`{ "error": { "code", "message", "details" } }`');
    const example = /```json\n([\s\S]*?)```/.exec(markdown)?.[1] ?? '';
    const body = JSON.parse(example) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message']);
    expect(errorCodes).toContain(body.error.code);
  });
});

describe.each(backendNames)('error codes over HTTP on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;
  let readKey: string;

  /** Sends, and checks what every answer carries: an issued or echoed x-request-id. */
  const call = async (request: RawRequest): Promise<RawResponse> => {
    const response = await send(server.url, request);
    expect(response.headers.get('x-request-id') ?? '', `${request.method ?? 'GET'} ${request.path}`).toMatch(
      /^[A-Za-z0-9_.:-]{1,128}$/,
    );
    return response;
  };

  /** Provokes one error and checks code, catalogue status and the body shape. */
  const expectCode = async (code: ErrorCode, request: RawRequest) => {
    const response = await call(request);
    const error = expectCatalogueError(response, `${code}: ${request.method ?? 'GET'} ${request.path}`);
    expect(error.code, response.text).toBe(code);
    expect(response.status).toBe(errorCatalogue[code].status);
    return { response, error };
  };

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend);
    readKey = (await server.admin.apiKeys.create({ name: 'reader', scopes: ['read'] })).key;
    await server.admin.agents.create({ slug: 'existing', name: 'Existing', model: 'playground/playground' });
  });

  afterAll(async () => {
    await server?.close();
  });

  it.skipIf(skip)('VALIDATION_FAILED names the field', async () => {
    const { error } = await expectCode('VALIDATION_FAILED', {
      method: 'POST',
      path: '/v1/agents',
      apiKey: server.adminKey,
      json: { slug: 'Not A Slug', name: 'x', model: 'playground/playground' },
    });
    expect(error.details.location).toBe('body');
    expect((error.details.issues as { path: string }[]).map((issue) => issue.path)).toEqual(['slug']);
  });

  it.skipIf(skip)('INVALID_JSON for a malformed body', async () => {
    await expectCode('INVALID_JSON', {
      method: 'POST',
      path: '/v1/secrets',
      apiKey: server.adminKey,
      rawBody: '{"name": "a", ',
      headers: { 'content-type': 'application/json' },
    });
  });

  it.skipIf(skip)('UNAUTHENTICATED without a key, with a bad key, and with a revoked key', async () => {
    const victim = await server.admin.apiKeys.create({ name: 'to-revoke', scopes: ['read'] });
    // The key works both ways before it is revoked, so the 401s below are about the key.
    const styles: Record<string, string>[] = [
      { authorization: `Bearer ${victim.key}` },
      { 'x-api-key': victim.key },
    ];
    for (const headers of styles) {
      expect((await call({ path: '/v1/agents', headers })).status).toBe(200);
    }
    await server.admin.apiKeys.revoke(victim.id);
    const cases: [string, Record<string, string>][] = [
      ['no key', {}],
      ['an empty bearer', { authorization: 'Bearer ' }],
      ['another scheme', { authorization: `Basic ${victim.key}` }],
      ['an unknown bearer key', { authorization: 'Bearer ry_not_a_real_key_000000000000000000000' }],
      ['an unknown x-api-key', { 'x-api-key': 'ry_not_a_real_key_000000000000000000000' }],
      ['a revoked bearer key', { authorization: `Bearer ${victim.key}` }],
      ['a revoked x-api-key', { 'x-api-key': victim.key }],
    ];
    for (const [label, headers] of cases) {
      const { error } = await expectCode('UNAUTHENTICATED', { path: '/v1/agents', headers });
      expect(error.message, label).not.toContain(victim.key);
    }
  });

  it.skipIf(skip)('UNAUTHENTICATED for an expired key', async () => {
    const expiring = await server.admin.apiKeys.create({
      name: 'expiring',
      scopes: ['read'],
      expiresAt: new Date(Date.now() + 1500).toISOString(),
    });
    expect((await call({ path: '/v1/agents', apiKey: expiring.key })).status).toBe(200);
    await sleep(1600);
    const { error } = await expectCode('UNAUTHENTICATED', { path: '/v1/agents', apiKey: expiring.key });
    expect(error.message).toContain('expired');
  });

  it.skipIf(skip)('PERMISSION_DENIED for a read-only key on a write route, naming the scope', async () => {
    const { error } = await expectCode('PERMISSION_DENIED', {
      method: 'POST',
      path: '/v1/secrets',
      apiKey: readKey,
      json: { name: 'nope', value: 'v' },
    });
    expect(error.details.requiredScope).toBe('write');
    expect(error.details.scopes).toEqual(['read']);
    await expect(server.client(readKey).secrets.create({ name: 'nope', value: 'v' })).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    expect(await server.admin.secrets.list()).toEqual({ data: [], nextCursor: null });
  });

  it.skipIf(skip)('NOT_FOUND and ROUTE_NOT_FOUND', async () => {
    const { error } = await expectCode('NOT_FOUND', { path: '/v1/agents/missing', apiKey: server.adminKey });
    expect(error.details).toEqual({ kind: 'agent', reference: 'missing' });
    await expect(server.admin.agents.get('missing')).rejects.toBeInstanceOf(NotFoundError);
    // The artifact route answers bytes when found, and a catalogue error (JSON) when not.
    const missingRun = 'run_00000000000000000000000000';
    const artifactPath = `/v1/runs/${missingRun}/artifacts/art_00000000000000000000000000`;
    const artifact = await expectCode('NOT_FOUND', {
      path: artifactPath,
      apiKey: server.adminKey,
      headers: { accept: '*/*' },
    });
    expect(artifact.error.details).toEqual({ kind: 'run', reference: missingRun });
    await expect(
      server.admin.runs.artifact(missingRun, 'art_00000000000000000000000000'),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(server.admin.runs.artifacts(missingRun)).rejects.toBeInstanceOf(NotFoundError);
    await expectCode('ROUTE_NOT_FOUND', { path: '/v1/nothing-here', apiKey: server.adminKey });
    await expectCode('ROUTE_NOT_FOUND', { method: 'PUT', path: '/v1/secrets', apiKey: server.adminKey });
    await expectCode('ROUTE_NOT_FOUND', { path: '/nothing-here' });
  });

  it.skipIf(skip)('CONFLICT for a duplicate agent slug', async () => {
    const { error } = await expectCode('CONFLICT', {
      method: 'POST',
      path: '/v1/agents',
      apiKey: server.adminKey,
      json: { slug: 'existing', name: 'Again', model: 'playground/playground' },
    });
    expect(error.details.slug).toBe('existing');
    await expect(
      server.admin.agents.create({ slug: 'existing', name: 'Again', model: 'playground/playground' }),
    ).rejects.toBeInstanceOf(ConflictError);
  });

  it.skipIf(skip)('TOOL_FAILED when a tool invoked directly cannot reach its API', async () => {
    const baseUrl = `http://127.0.0.1:${await unusedPort()}`;
    await server.admin.tools.create({ name: 'unreachable-tool', kind: 'http', baseUrl, maxRetries: 0 });
    // Allowed by a rule naming the loopback host, so the request is really attempted.
    await server.admin.policies.create({
      name: 'unreachable-allowed',
      rules: [{ effect: 'allow', resource: `${baseUrl}/**`, operations: ['*'] }],
    });
    const { error } = await expectCode('TOOL_FAILED', {
      method: 'POST',
      path: '/v1/tools/unreachable-tool/invoke',
      apiKey: server.adminKey,
      json: { input: {}, policies: ['unreachable-allowed'] },
    });
    expect(error.details).toEqual({ tool: 'unreachable-tool', reason: 'unreachable' });
    await expect(
      server.admin.tools.invoke('unreachable-tool', {}, { policies: ['unreachable-allowed'] }),
    ).rejects.toBeInstanceOf(InternalServerError);
  });

  it.skipIf(skip)('POLICY_DENIED when a policy refuses a tool invoked directly', async () => {
    const target = await startCountingServer();
    try {
      await server.admin.tools.create({ name: 'guarded-tool', kind: 'http', baseUrl: target.url });
      await server.admin.policies.create({
        name: 'deny-guarded',
        rules: [
          { effect: 'allow', resource: `${target.url}/**`, operations: ['*'] },
          { effect: 'deny', resource: 'tool:guarded-*', operations: ['*'] },
        ],
      });
      // No policy: nothing allows the request (network access is denied by default).
      const byDefault = await expectCode('POLICY_DENIED', {
        method: 'POST',
        path: '/v1/tools/guarded-tool/invoke',
        apiKey: server.adminKey,
        json: { input: {} },
      });
      expect(byDefault.error.details).toEqual({
        tool: 'guarded-tool',
        reason: 'policy-denied',
        resource: `${target.url}/`,
      });
      // A deny rule on the tool: the rule that decided is named.
      const byRule = await expectCode('POLICY_DENIED', {
        method: 'POST',
        path: '/v1/tools/guarded-tool/invoke',
        apiKey: server.adminKey,
        json: { input: {}, policies: ['deny-guarded'] },
      });
      expect(byRule.error.details).toEqual({
        tool: 'guarded-tool',
        reason: 'policy-denied',
        resource: 'tool:guarded-tool',
        policy: 'deny-guarded',
        rule: 1,
      });
      expect(errorCatalogue.POLICY_DENIED.retryable).toBe(false);
      await expect(
        server.admin.tools.invoke('guarded-tool', {}, { policies: ['deny-guarded'] }),
      ).rejects.toBeInstanceOf(PermissionDeniedError);
      expect(target.requests(), 'a refused call sends nothing').toBe(0);
    } finally {
      await target.close();
    }
  });

  it.skipIf(skip)(
    'PRECONDITION_FAILED for a stale If-Match on PATCH, and success with the current one',
    async () => {
      const read = await call({ path: '/v1/agents/existing', apiKey: server.adminKey });
      const staleEtag = read.headers.get('etag') ?? '';
      expect(staleEtag).toBe((read.body as { etag: string }).etag);
      const changed = await call({
        method: 'PATCH',
        path: '/v1/agents/existing',
        apiKey: server.adminKey,
        json: { description: 'changed' },
        headers: { 'if-match': staleEtag },
      });
      expect(changed.status, changed.text).toBe(200);
      const { error } = await expectCode('PRECONDITION_FAILED', {
        method: 'PATCH',
        path: '/v1/agents/existing',
        apiKey: server.adminKey,
        json: { description: 'lost update' },
        headers: { 'if-match': staleEtag },
      });
      expect(error.details.current).toBe(changed.headers.get('etag'));
      expect((await server.admin.agents.get('existing')).description).toBe('changed');
    },
  );

  it.skipIf(skip)('PAYLOAD_TOO_LARGE over the default limit of 1 MiB', async () => {
    await expectCode('PAYLOAD_TOO_LARGE', {
      method: 'POST',
      path: '/v1/secrets',
      apiKey: server.adminKey,
      json: { name: 'huge', value: 'v'.repeat(1_048_576) },
    });
  });

  it.skipIf(skip)('UNSUPPORTED_MEDIA_TYPE for a body that is not JSON, or has no content type', async () => {
    const { error } = await expectCode('UNSUPPORTED_MEDIA_TYPE', {
      method: 'POST',
      path: '/v1/secrets',
      apiKey: server.adminKey,
      rawBody: 'name=a&value=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(error.details.contentType).toBe('application/x-www-form-urlencoded');
    await expectCode('UNSUPPORTED_MEDIA_TYPE', {
      method: 'POST',
      path: '/v1/secrets',
      apiKey: server.adminKey,
      rawBody: JSON.stringify({ name: 'a', value: 'b' }),
      headers: { 'content-type': 'text/plain' },
    });
    const untyped = await expectCode('UNSUPPORTED_MEDIA_TYPE', {
      method: 'POST',
      path: '/v1/secrets',
      apiKey: server.adminKey,
      rawBody: new TextEncoder().encode(JSON.stringify({ name: 'a', value: 'b' })),
    });
    expect(untyped.error.details.contentType).toBeNull();
    expect((await server.admin.secrets.list()).data).toEqual([]);
  });

  it.skipIf(skip)(
    'IDEMPOTENCY_KEY_REUSED for another body; the same body replays the first answer',
    async () => {
      const request = {
        method: 'POST',
        path: '/v1/secrets',
        apiKey: server.adminKey,
        headers: { 'idempotency-key': 'create-idem-secret-1' },
      };
      const first = await call({ ...request, json: { name: 'idem-secret', value: 'one' } });
      expect(first.status, first.text).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const replay = await call({ ...request, json: { name: 'idem-secret', value: 'one' } });
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(first.body);
      expect(replay.text).toBe(first.text);
      const { error } = await expectCode('IDEMPOTENCY_KEY_REUSED', {
        ...request,
        json: { name: 'idem-secret', value: 'two' },
      });
      expect(error.details.idempotencyKey).toBe('create-idem-secret-1');
      const secrets = (await server.admin.secrets.list()).data.filter(
        (secret) => secret.name === 'idem-secret',
      );
      expect(secrets).toHaveLength(1);
      expect(secrets[0]?.version).toBe(1);
      expect(secrets[0]?.id).toBe((first.body as { id: string }).id);
    },
  );

  it.skipIf(skip)(
    'x-request-id: issued on every answer, a safe caller id echoed, an unsafe one replaced',
    async () => {
      const requests: RawRequest[] = [
        { path: '/v1/agents', apiKey: server.adminKey },
        { path: '/v1/agents' },
        { path: '/v1/nowhere' },
        { path: '/v1/agents/%zz', apiKey: server.adminKey },
        { path: '/healthz' },
        {
          method: 'POST',
          path: '/v1/secrets',
          apiKey: server.adminKey,
          rawBody: '{',
          headers: { 'content-type': 'application/json' },
        },
      ];
      for (const request of requests) {
        const issued = await call(request);
        expect(issued.headers.get('x-request-id') ?? '', request.path).toMatch(issuedRequestId);
        const echoed = await call({
          ...request,
          headers: { ...request.headers, 'x-request-id': 'trace-42.a:b_c' },
        });
        expect(echoed.headers.get('x-request-id'), request.path).toBe('trace-42.a:b_c');
        for (const unsafe of ['has spaces', 'x'.repeat(129), 'semi;colon', '<script>']) {
          const replaced = await call({
            ...request,
            headers: { ...request.headers, 'x-request-id': unsafe },
          });
          expect(replaced.headers.get('x-request-id') ?? '', `${request.path} ${unsafe}`).toMatch(
            issuedRequestId,
          );
        }
      }
      const failed = await call({
        path: '/v1/agents/missing',
        apiKey: server.adminKey,
        headers: { 'x-request-id': 'mine-1' },
      });
      expect(failed.headers.get('x-request-id')).toBe('mine-1');
    },
  );

  it.skipIf(skip)('/healthz and /readyz answer 200', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const response = await call({ path });
      expect(response.status, response.text).toBe(200);
      expect(response.body).toEqual({ status: 'ok' });
    }
  });
});

describe.each(backendNames)('RATE_LIMITED on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;

  beforeAll(async () => {
    if (!skip) server = await startTestServer(backend, { RUNYARD_RATE_LIMIT_PER_MINUTE: '5' });
  });

  afterAll(async () => {
    await server?.close();
  });

  it.skipIf(skip)('answers 429 with Retry-After after 5 requests a minute for one key', async () => {
    const limited = await server.admin.apiKeys.create({ name: 'limited', scopes: ['read'] });
    for (let index = 0; index < 5; index += 1) {
      const response = await send(server.url, { path: '/v1/agents', apiKey: limited.key });
      expect(response.status, `request ${index + 1}`).toBe(200);
    }
    const response = await send(server.url, { path: '/v1/agents', apiKey: limited.key });
    const error = expectCatalogueError(response, 'sixth request');
    expect(error.code).toBe('RATE_LIMITED');
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(error.details).toEqual({ limitPerMinute: 5, retryAfterSeconds: retryAfter });
    expect(errorCatalogue.RATE_LIMITED.retryable).toBe(true);

    const sdkError = await server
      .client(limited.key)
      .agents.list()
      .catch((caught: unknown) => caught);
    expect(sdkError).toBeInstanceOf(RateLimitError);
    expect((sdkError as RateLimitError).retryAfterSeconds).toBeGreaterThanOrEqual(1);

    // The limit is per key: the admin key (one request so far) still answers.
    const other = await send(server.url, { path: '/v1/agents', apiKey: server.adminKey });
    expect(other.status).toBe(200);
  });
});
