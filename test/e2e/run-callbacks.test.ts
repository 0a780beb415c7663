import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Runyard } from '@runyard/sdk';
import { sleep, type RunDelivery } from '@runyard/protocol';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer } from '../support/server.ts';
import { useTestServer } from '../support/use-server.ts';
import { unusedPort } from '../support/ports.ts';
import { waitUntil } from '../support/wait-until.ts';

const retryBaseMs = 200;
const environment = { RUNYARD_CALLBACK_RETRY_BASE_MS: String(retryBaseMs) };
const secret = 'whsec_0123456789abcdef';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The status this receiver answered. */
  answered: number;
}

/** A real HTTP endpoint on 127.0.0.1 that records every request and answers `statusFor(index)`. */
async function startReceiver(
  statusFor: (index: number) => number = () => 200,
  port = 0,
): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answered = statusFor(received.length);
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), answered });
      response.writeHead(answered, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/hooks/runyard`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * What a receiver does: recompute the HMAC over `<t>.<raw body>` with its copy of the secret,
 * compare in constant time, and refuse timestamps more than 5 minutes away.
 */
function verifySignature(header: string | string[] | undefined, key: string, body: string): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(typeof header === 'string' ? header : '');
  if (match?.[1] === undefined || match[2] === undefined) return false;
  if (Math.abs(Date.now() / 1000 - Number(match[1])) > 300) return false;
  const expected = createHmac('sha256', key).update(`${match[1]}.${body}`, 'utf8').digest();
  return timingSafeEqual(expected, Buffer.from(match[2], 'hex'));
}

const deliveredOnce = (deliveries: RunDelivery[]) => deliveries.some((delivery) => delivery.delivered);

async function ensureAgent(admin: Runyard): Promise<string> {
  await admin.agents.upsert('hooked', { name: 'Hooked', model: 'playground/playground' });
  return 'hooked';
}

describe.each(backendNames)('run callbacks on %s', (backend) => {
  const { skip, server } = useTestServer(backend, environment);

  it.skipIf(skip)('POSTs the ended run once, signed with the callback secret', async () => {
    const { admin } = server();
    const receiver = await startReceiver();
    try {
      const run = await admin.runs.create(await ensureAgent(admin), {
        input: 'call me back',
        callbackUrl: receiver.url,
        callbackSecret: secret,
      });
      expect(run.status).toBe('succeeded');
      const deliveries = await waitUntil(() => admin.runs.deliveries(run.id), {
        what: 'a delivered callback',
        until: deliveredOnce,
      });
      // Long enough for a duplicate or a retry to show up if there were one.
      await sleep(retryBaseMs * 3);
      expect(receiver.received).toHaveLength(1);
      const [request] = receiver.received;
      if (request === undefined) throw new Error('no request');

      expect(JSON.parse(request.body)).toEqual(await admin.runs.get(run.id));
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-runyard-run-id']).toBe(run.id);
      expect(request.headers['x-runyard-delivery-id']).toMatch(/^dlv_[0-9a-z]{26}$/);
      const signature = request.headers['x-runyard-signature'];
      expect(verifySignature(signature, secret, request.body)).toBe(true);
      expect(verifySignature(signature, `${secret}x`, request.body)).toBe(false);
      expect(verifySignature(signature, secret, request.body.replace('succeeded', 'failed'))).toBe(false);
      expect(verifySignature(signature, secret, `${request.body} `)).toBe(false);

      expect(await admin.runs.deliveries(run.id)).toEqual(deliveries);
      expect(deliveries).toEqual([
        {
          id: request.headers['x-runyard-delivery-id'],
          runId: run.id,
          attempt: 1,
          statusCode: 200,
          error: null,
          delivered: true,
          createdAt: expect.any(String) as unknown,
          nextAttemptAt: null,
        },
      ]);
    } finally {
      await receiver.close();
    }
  });

  it.skipIf(skip)('retries while the receiver is down or failing, then delivers exactly once', async () => {
    const { admin } = server();
    const port = await unusedPort();
    const run = await admin.runs.create(await ensureAgent(admin), {
      input: 'retry me',
      callbackUrl: `http://127.0.0.1:${port}/hooks/runyard`,
      callbackSecret: secret,
    });
    // The first attempt finds nothing listening.
    const refused = await waitUntil(() => admin.runs.deliveries(run.id), {
      what: 'the first callback attempt',
      until: (deliveries) => deliveries.length > 0,
    });
    expect(refused[0]).toMatchObject({ attempt: 1, statusCode: null, delivered: false });
    expect(refused[0]?.error).toMatch(/ECONNREFUSED/);
    // Then the receiver is up, but answers 503 once before it accepts.
    const receiver = await startReceiver((index) => (index === 0 ? 503 : 204), port);
    try {
      const deliveries = await waitUntil(() => admin.runs.deliveries(run.id), {
        what: 'a delivered callback',
        until: deliveredOnce,
      });
      await sleep(retryBaseMs * 4);
      expect(await admin.runs.deliveries(run.id)).toEqual(deliveries);

      expect(deliveries.map((delivery) => delivery.attempt)).toEqual(deliveries.map((_, index) => index + 1));
      const last = deliveries.at(-1);
      expect(last).toMatchObject({ statusCode: 204, error: null, delivered: true, nextAttemptAt: null });
      const failed = deliveries.slice(0, -1);
      expect(failed.length).toBeGreaterThanOrEqual(2);
      for (const [index, delivery] of failed.entries()) {
        expect(delivery.delivered).toBe(false);
        expect(delivery.error).not.toBeNull();
        // Exponential backoff with full jitter: due within the attempt's window after it ended (the
        // POST itself took a moment), and no attempt starts before it is due.
        const due = Date.parse(delivery.nextAttemptAt ?? '');
        const waitedMs = due - Date.parse(delivery.createdAt);
        expect(waitedMs).toBeGreaterThanOrEqual(0);
        expect(waitedMs).toBeLessThanOrEqual(retryBaseMs * 2 ** (delivery.attempt - 1) + 1000);
        expect(Date.parse(deliveries[index + 1]?.createdAt ?? '')).toBeGreaterThanOrEqual(due);
      }
      expect(failed.some((delivery) => delivery.statusCode === null)).toBe(true);
      expect(failed.filter((delivery) => delivery.statusCode === 503)).toHaveLength(1);

      // Every attempt that reached the receiver is one request; exactly one was accepted.
      expect(receiver.received.map((request) => request.answered)).toEqual([503, 204]);
      const ids = receiver.received.map((request) => request.headers['x-runyard-delivery-id']);
      expect(ids).toEqual(deliveries.slice(-2).map((delivery) => delivery.id));
      for (const request of receiver.received) {
        expect(JSON.parse(request.body)).toEqual(await admin.runs.get(run.id));
        expect(verifySignature(request.headers['x-runyard-signature'], secret, request.body)).toBe(true);
      }
    } finally {
      await receiver.close();
    }
  });

  it.skipIf(skip)(
    'never calls a cloud metadata endpoint: refused on create, and for good at delivery',
    async () => {
      const { admin } = server();
      const agent = await ensureAgent(admin);
      for (const callbackUrl of [
        'http://169.254.169.254/latest/meta-data/',
        'http://metadata.google.internal/computeMetadata/v1/',
        'http://[::ffff:169.254.169.254]/',
        'https://[fd00:ec2::254]/',
      ]) {
        const refused = await admin.runs
          .create(agent, { input: 'x', callbackUrl })
          .catch((error: unknown) => error);
        expect(refused).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
        expect((refused as Error).message).toMatch(/callbackUrl.*cloud metadata/);
      }

      // A run stored with such a URL all the same (by an earlier Runyard): the guard refuses it at
      // delivery, where a host name that resolves to a metadata address is caught too, and gives up.
      const port = await unusedPort();
      const run = await admin.runs.create(agent, {
        input: 'x',
        callbackUrl: `http://127.0.0.1:${port}/hooks`,
      });
      await waitUntil(() => admin.runs.deliveries(run.id), {
        what: 'the first callback attempt',
        until: (deliveries) => deliveries.length > 0,
      });
      await server()
        .server.database.db.updateTable('runs')
        .set({ callback_url: 'http://169.254.169.254/latest/meta-data/' })
        .where('id', '=', run.id)
        .execute();
      const deliveries = await waitUntil(() => admin.runs.deliveries(run.id), {
        what: 'the last callback attempt',
        until: (list) => list.at(-1)?.nextAttemptAt === null,
      });
      const last = deliveries.at(-1);
      expect(last).toMatchObject({ delivered: false, statusCode: null, nextAttemptAt: null });
      expect(last?.error).toContain('cloud metadata');
      // Attempts before the change found nothing listening on the first URL.
      for (const earlier of deliveries.slice(0, -1)) expect(earlier.error).toMatch(/ECONNREFUSED/);
      await sleep(retryBaseMs * 4);
      expect(await admin.runs.deliveries(run.id)).toEqual(deliveries);
    },
  );

  it.skipIf(skip)('sends no signature for a run without a callback secret', async () => {
    const { admin } = server();
    const receiver = await startReceiver();
    try {
      const run = await admin.runs.create(await ensureAgent(admin), {
        input: 'unsigned',
        callbackUrl: receiver.url,
      });
      await waitUntil(() => admin.runs.deliveries(run.id), {
        what: 'a delivered callback',
        until: deliveredOnce,
      });
      expect(receiver.received).toHaveLength(1);
      const [request] = receiver.received;
      expect(request?.headers['x-runyard-signature']).toBeUndefined();
      expect(request?.headers['x-runyard-run-id']).toBe(run.id);
      expect(request?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(request?.body ?? '')).toEqual(await admin.runs.get(run.id));
    } finally {
      await receiver.close();
    }
  });

  it.skipIf(skip)('calls back a run cancelled while it was still queued', async () => {
    const { admin } = server();
    // A model that never answers keeps the first run of the thread running, so the second one waits.
    const silentModel = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silentModel.listen(0, '127.0.0.1', resolve));
    const receiver = await startReceiver();
    try {
      const { port } = silentModel.address() as net.AddressInfo;
      await admin.providers.create({
        name: 'silent',
        kind: 'openai-compatible',
        baseUrl: `http://127.0.0.1:${port}/v1`,
        models: ['m1'],
      });
      await admin.agents.create({ slug: 'stuck', name: 'Stuck', model: 'silent/m1' });
      const first = await admin.runs.create('stuck', { input: 'hang', mode: 'background' });
      const second = await admin.runs.create('stuck', {
        input: 'wait your turn',
        mode: 'background',
        threadId: first.threadId ?? '',
        callbackUrl: receiver.url,
        callbackSecret: secret,
      });
      await waitUntil(() => admin.runs.get(first.id), {
        what: 'the first run to be running',
        until: (run) => run.status === 'running',
      });
      expect((await admin.runs.get(second.id)).status).toBe('queued');
      const cancelled = await admin.runs.cancel(second.id);
      expect(cancelled.status).toBe('cancelled');

      await waitUntil(() => admin.runs.deliveries(second.id), {
        what: 'a delivered callback',
        until: deliveredOnce,
      });
      expect(receiver.received).toHaveLength(1);
      const [request] = receiver.received;
      expect(JSON.parse(request?.body ?? '')).toEqual(cancelled);
      expect(verifySignature(request?.headers['x-runyard-signature'], secret, request?.body ?? '')).toBe(
        true,
      );
      await admin.runs.cancel(first.id);
    } finally {
      silentModel.closeAllConnections();
      silentModel.close();
      await receiver.close();
    }
  });

  it.skipIf(skip)('has no deliveries for a run without a callback URL', async () => {
    const { admin } = server();
    const run = await admin.runs.create(await ensureAgent(admin), { input: 'no callback' });
    await sleep(retryBaseMs);
    expect(await admin.runs.deliveries(run.id)).toEqual([]);
  });
});

describe.each(backendNames)('run callbacks across a restart on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;

  it.skipIf(skip)('a pending delivery is picked up by the next start', async () => {
    const first = await startTestServer(backend, environment);
    let second: Awaited<ReturnType<typeof startTestServer>> | undefined;
    const port = await unusedPort();
    let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
    try {
      const run = await first.admin.runs.create(await ensureAgent(first.admin), {
        input: 'survive a restart',
        callbackUrl: `http://127.0.0.1:${port}/hooks/runyard`,
      });
      await waitUntil(() => first.admin.runs.deliveries(run.id), {
        what: 'the first callback attempt',
        until: (deliveries) => deliveries.length > 0,
      });
      await first.stop();
      receiver = await startReceiver(() => 200, port);
      second = await startTestServer(backend, environment, first.backend);
      const deliveries = await waitUntil(() => second!.admin.runs.deliveries(run.id), {
        what: 'a delivered callback',
        until: deliveredOnce,
      });
      expect(deliveries.at(-1)).toMatchObject({ delivered: true, statusCode: 200 });
      expect(deliveries.slice(0, -1).every((delivery) => !delivery.delivered)).toBe(true);
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver?.close();
      await second?.stop();
      await first.close();
    }
  });
});
