import type { Run, RunEvent } from '@runyard/protocol';
import { NotFoundError } from '@runyard/sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import { blobBytes, randomCredentials, useToolServer } from '../support/tool-server.ts';
import { useTestServer } from '../support/use-server.ts';

// An http tool's answer too large for the model: the model reads its start and a marker naming a run
// artifact, and the artifact holds the whole body, byte for byte as the API sent it (up to
// RUNYARD_ARTIFACT_MAX_BYTES, then its start, marked truncated), credentials scrubbed.

const credentials = randomCredentials();
const toolServer = useToolServer(credentials);
/** Small, so that one test body goes past it without a 10 MiB transfer. */
const artifactMaxBytes = 200_000;
const maxResponseBytes = 1000;

interface HttpResult {
  status: number;
  body: unknown;
}

const artifactPattern = /art_[0-9a-hjkmnp-tv-z]{26}/;

describe.each(backendNames)('http tool responses kept as run artifacts on %s', (backend) => {
  const { skip, server } = useTestServer(backend, { RUNYARD_ARTIFACT_MAX_BYTES: String(artifactMaxBytes) });

  /** Runs the playground model's `use <tool> {input}`; the run, and its one tool-result event. */
  async function callInRun(tool: string, input: Record<string, unknown>) {
    const { admin } = server();
    const run: Run = await admin.runs.create('fetcher', {
      input: `use ${tool} ${JSON.stringify(input)}`,
      stateless: true,
    });
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    const results = (await admin.runs.events(run.id)).filter(
      (event): event is Extract<RunEvent, { type: 'tool-result' }> => event.type === 'tool-result',
    );
    expect(results).toHaveLength(1);
    return { run, result: results[0]!, output: results[0]!.output as HttpResult };
  }

  beforeAll(async () => {
    if (skip) return;
    const { admin } = server();
    await admin.secrets.create({ name: 'BEARER_TOKEN', value: credentials.bearerToken });
    await admin.policies.create({
      name: 'loopback',
      rules: [{ effect: 'allow', resource: `${toolServer().url}/**`, operations: ['GET'] }],
    });
    const queryTool = (name: string, path: string, extra: Record<string, unknown> = {}) =>
      admin.tools.create({
        name,
        kind: 'http',
        baseUrl: toolServer().url,
        path,
        maxResponseBytes,
        inputSchema: {
          type: 'object',
          properties: { bytes: { type: 'integer' }, type: { type: 'string' }, pad: { type: 'integer' } },
        },
        ...extra,
      } as never);
    await queryTool('big', '/big');
    await queryTool('blob', '/blob');
    await queryTool('quoting', '/bearer/check', {
      auth: { type: 'bearer', token: { secret: 'BEARER_TOKEN' } },
    });
    await admin.agents.create({
      slug: 'fetcher',
      name: 'Fetcher',
      model: 'playground/playground',
      tools: ['big', 'blob', 'quoting'],
      policies: ['loopback'],
    });
  });

  it.skipIf(skip)(
    'the model sees the start and the artifact id; the artifact downloads byte-identical',
    async () => {
      const { admin } = server();
      const { run, result, output } = await callInRun('big', { bytes: 150_000 });
      const sent = Buffer.from(JSON.stringify({ data: 'x'.repeat(150_000 - 11) }));
      expect(sent.length).toBe(150_000);

      const [artifact, ...others] = await admin.runs.artifacts(run.id);
      expect(others).toEqual([]);
      expect(artifact).toMatchObject({
        runId: run.id,
        toolCallId: result.toolCallId,
        name: 'response-body',
        contentType: 'application/json',
        sizeBytes: 150_000,
        truncated: false,
      });
      expect(artifact!.id).toMatch(artifactPattern);
      expect(result.artifacts).toEqual([artifact!.id]);

      // What the model got: the first 1000 bytes and a marker naming the artifact.
      const marker = `…[truncated: 1000 of 150000 bytes; the whole body is kept as run artifact ${artifact!.id}]`;
      expect(output.status).toBe(200);
      expect(output.body).toBe(sent.subarray(0, 1000).toString('utf8') + marker);
      // The playground model answers with what it read: the marker reached the model.
      expect(run.output?.text).toContain(marker);

      const downloaded = await admin.runs.artifact(run.id, artifact!.id);
      expect(downloaded.contentType).toBe('application/json');
      expect(Buffer.from(downloaded.bytes).equals(sent)).toBe(true);
      // Served as a download: never rendered, or sniffed into a page, on the API's origin.
      const raw = await fetch(`${server().url}/v1/runs/${run.id}/artifacts/${artifact!.id}`, {
        headers: { authorization: `Bearer ${server().adminKey}` },
      });
      expect(raw.status).toBe(200);
      expect(raw.headers.get('content-disposition')).toBe(`attachment; filename="${artifact!.id}"`);
      expect(raw.headers.get('x-content-type-options')).toBe('nosniff');
      expect(raw.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
      expect(raw.headers.get('content-length')).toBe('150000');
      expect(Buffer.from(await raw.arrayBuffer()).equals(sent)).toBe(true);

      // A body the model can read whole keeps nothing.
      const small = await callInRun('big', { bytes: 500 });
      expect(small.result.artifacts).toBeUndefined();
      expect(await admin.runs.artifacts(small.run.id)).toEqual([]);
    },
  );

  it.skipIf(skip)(
    'binary bytes come back exactly; past the cap only the start, marked truncated',
    async () => {
      const { admin } = server();
      const whole = await callInRun('blob', { bytes: 64_000, type: 'image/png' });
      const [kept] = await admin.runs.artifacts(whole.run.id);
      expect(kept).toMatchObject({ contentType: 'image/png', sizeBytes: 64_000, truncated: false });
      expect(whole.output.body).toBe(
        `[binary body: 64000 bytes of image/png; kept whole as run artifact ${kept!.id}]`,
      );
      const bytes = (await admin.runs.artifact(whole.run.id, kept!.id)).bytes;
      expect(Buffer.from(bytes).equals(blobBytes(64_000))).toBe(true);

      const capped = await callInRun('blob', { bytes: 300_000 });
      const [start] = await admin.runs.artifacts(capped.run.id);
      expect(start).toMatchObject({
        contentType: 'application/octet-stream',
        sizeBytes: artifactMaxBytes,
        truncated: true,
      });
      expect(capped.output.body).toBe(
        `[binary body: 300000 bytes of application/octet-stream; its first ${artifactMaxBytes} bytes are kept as run artifact ${start!.id}]`,
      );
      const startBytes = (await admin.runs.artifact(capped.run.id, start!.id)).bytes;
      expect(Buffer.from(startBytes).equals(blobBytes(300_000).subarray(0, artifactMaxBytes))).toBe(true);

      // The artifact of one run is not found under another run, nor is an id nobody issued.
      await expect(admin.runs.artifact(whole.run.id, start!.id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(
        admin.runs.artifact(whole.run.id, 'art_00000000000000000000000000'),
      ).rejects.toBeInstanceOf(NotFoundError);
    },
  );

  it.skipIf(skip)('the credentials a large answer quotes are scrubbed from the artifact too', async () => {
    const { admin } = server();
    const { run, output } = await callInRun('quoting', { pad: 5000 });
    expect(toolServer().requests.at(-1)?.headers.authorization).toBe(`Bearer ${credentials.bearerToken}`);
    const [artifact] = await admin.runs.artifacts(run.id);
    const text = Buffer.from((await admin.runs.artifact(run.id, artifact!.id)).bytes).toString('utf8');
    expect(text).toContain('"authorization":"Bearer [redacted]"');
    expect(text).toContain('p'.repeat(5000));
    expect(text).not.toContain(credentials.bearerToken);
    expect(JSON.stringify(output)).not.toContain(credentials.bearerToken);
    expect(artifact!.sizeBytes).toBe(Buffer.byteLength(text));
  });
});
