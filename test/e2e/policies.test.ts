import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';

/** A loopback API that records what reaches it; `/to?url=` redirects anywhere. */
let hits: string[] = [];
let target = '';
const api = http.createServer((request, response) => {
  hits.push(`${request.method} ${request.url}`);
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname === '/to') {
    response.writeHead(302, { location: url.searchParams.get('url') ?? '/' }).end();
    return;
  }
  response.writeHead(200, { 'content-type': 'text/html' });
  response.end(
    '<html><head><title>T</title><script>evil()</script></head><body><p>Hello &amp; bye</p></body></html>',
  );
});
let connections = 0;
api.on('connection', () => (connections += 1));
beforeAll(async () => {
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(api.address() as net.AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

/** A direct invoke the egress policy refuses: 403, not a failure of the tool. */
const policyDenied = { status: 403, code: 'POLICY_DENIED', details: { reason: 'policy-denied' } };

describe.each(backendNames)('egress policies on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('CRUD, validation and binding', async () => {
    const { admin } = server();
    const policy = await admin.policies.create({
      name: 'web',
      rules: [{ effect: 'allow', resource: `${target}/**`, operations: ['GET'] }],
    });
    expect(policy).toMatchObject({ name: 'web', description: '' });
    await expect(admin.policies.create({ name: 'web', rules: [] })).rejects.toMatchObject({ status: 409 });
    await expect(
      admin.policies.create({
        name: 'bad',
        rules: [{ effect: 'allow', resource: 'ftp://x', operations: ['*'] }],
      }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      admin.policies.create({
        name: 'bad',
        rules: [
          {
            effect: 'deny',
            resource: 'tool:x',
            operations: ['*'],
            conditions: [{ path: 'a', op: 'in', value: 1 }],
          },
        ],
      }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      admin.agents.create({ slug: 'bound', name: 'B', model: 'playground/playground', policies: ['nope'] }),
    ).rejects.toMatchObject({ status: 400 });
    await admin.agents.create({
      slug: 'bound',
      name: 'B',
      model: 'playground/playground',
      policies: ['web'],
      tools: ['http_fetch'],
    });
    await expect(admin.policies.delete('web')).rejects.toMatchObject({
      status: 409,
      details: { agents: ['bound'] },
    });
    expect((await admin.policies.list()).data.map((item) => item.name)).toEqual(['web']);
    expect((await admin.policies.update('web', { description: 'the test API' })).description).toBe(
      'the test API',
    );
  });

  it.skipIf(skip)(
    'decides runs: allow, no match → deny, approval_required not executed, tool: rules, conditions',
    async () => {
      const { admin } = server();
      await admin.policies.create({
        name: 'matrix',
        rules: [
          { effect: 'allow', resource: `${target}/**`, operations: ['GET'] },
          { effect: 'approval_required', resource: `${target}/pay`, operations: ['*'] },
          {
            effect: 'deny',
            resource: 'tool:echo',
            operations: ['*'],
            conditions: [{ path: 'text', op: 'matches', value: '*secret*' }],
          },
        ],
      });
      await admin.agents.create({
        slug: 'fetcher',
        name: 'F',
        model: 'playground/playground',
        tools: ['http_fetch', 'echo'],
        policies: ['matrix'],
      });
      hits = [];
      const run = await admin.runs.create('fetcher', {
        input: `use http_fetch {"url":"${target}/page"}`,
      });
      expect(run.status).toBe('succeeded');
      const events = await admin.runs.events(run.id);
      const result = events.find((event) => event.type === 'tool-result');
      expect(result).toMatchObject({ isError: false, output: { status: 200, text: 'T\n\nHello & bye' } });
      expect(events.find((event) => event.type === 'policy-decision')).toMatchObject({
        effect: 'allow',
        policy: 'matrix',
        ruleIndex: 0,
        resource: `${target}/page`,
        method: 'GET',
      });
      expect(hits).toEqual(['GET /page']);

      hits = [];
      // approval_required on an outbound request pauses the run before anything is sent
      // (approvals end to end: test/e2e/approvals.test.ts).
      const paused = await admin.runs.create('fetcher', { input: `use http_fetch {"url":"${target}/pay"}` });
      expect(paused.status).toBe('requires_action');
      const pausedEvents = await admin.runs.events(paused.id);
      expect(pausedEvents.find((event) => event.type === 'policy-decision')).toMatchObject({
        effect: 'approval_required',
      });
      expect(pausedEvents.find((event) => event.type === 'approval-requested')).toMatchObject({
        rule: { policy: 'matrix', ruleIndex: 1, resource: `${target}/pay`, method: 'GET' },
      });
      for (const [input, effect] of [
        ['use http_fetch {"url":"http://127.0.0.2:9/x"}', 'deny'],
        ['use echo {"text":"my secret"}', 'deny'],
      ] as const) {
        const denied = await admin.runs.create('fetcher', { input });
        expect(denied.status).toBe('succeeded');
        const deniedEvents = await admin.runs.events(denied.id);
        expect(deniedEvents.find((event) => event.type === 'tool-result')).toMatchObject({ isError: true });
        expect(deniedEvents.find((event) => event.type === 'policy-decision')).toMatchObject({ effect });
      }
      expect(hits).toEqual([]);
      const echoed = await admin.runs.create('fetcher', { input: 'use echo {"text":"fine"}' });
      expect(
        (await admin.runs.events(echoed.id)).find((event) => event.type === 'tool-result'),
      ).toMatchObject({ isError: false });

      const audit = await admin.audit.list({ agent: 'fetcher', effect: 'approval_required' });
      expect(audit.data).toHaveLength(1);
      expect(audit.data[0]).toMatchObject({ resource: `${target}/pay`, policy: 'matrix', ruleIndex: 1 });
      const byRun = await admin.audit.list({ runId: run.id });
      expect(byRun.data.map((entry) => entry.effect)).toEqual(['allow']);
      const paged = await admin.audit.list({ limit: 2 });
      expect(paged.nextCursor).not.toBeNull();
      expect(
        (await admin.audit.list({ limit: 2, cursor: paged.nextCursor ?? '' })).data.length,
      ).toBeGreaterThan(0);
    },
  );

  it.skipIf(skip)(
    'the SSRF guard: loopback without an exact rule, metadata, redirects, IPv6 forms',
    async () => {
      const { admin } = server();
      const port = new URL(target).port;
      await admin.policies.create({
        name: 'wide',
        rules: [
          { effect: 'allow', resource: `http://*:${port}/**`, operations: ['*'] },
          { effect: 'allow', resource: 'http://169.254.169.254/**', operations: ['*'] },
          { effect: 'allow', resource: `http://[::ffff:7f00:1]:${port}/**`, operations: ['*'] },
        ],
      });
      await admin.policies.create({
        name: 'exact',
        rules: [{ effect: 'allow', resource: `${target}/**`, operations: ['*'] }],
      });
      const fetchUnder = (policies: string[], url: string) =>
        admin.tools.invoke('http_fetch', { url }, { policies }).catch((error: unknown) => error);
      hits = [];
      // No policy: network denied by default.
      expect(await fetchUnder([], `${target}/a`)).toMatchObject(policyDenied);
      // A wildcard host rule does not open loopback: `localhost` resolves to it.
      expect(await fetchUnder(['wide'], `http://localhost:${port}/a`)).toMatchObject({
        ...policyDenied,
      });
      // Metadata even with an allow rule naming it.
      expect(await fetchUnder(['wide'], 'http://169.254.169.254/latest/meta-data/')).toMatchObject({
        ...policyDenied,
      });
      // IPv4-mapped IPv6 loopback, allowed by its exact host, still is loopback: allowed only by that rule.
      expect(await fetchUnder(['exact'], `http://[::ffff:127.0.0.1]:${port}/a`)).toMatchObject({
        ...policyDenied,
      });
      expect(await fetchUnder(['exact'], `http://[::1]:${port}/a`)).toMatchObject({
        ...policyDenied,
      });
      expect(hits).toEqual([]);
      // A redirect from the allowed server into metadata or other private space: the hop is refused.
      for (const into of [
        'http://169.254.169.254/latest/meta-data/',
        'http://10.0.0.1/',
        `http://localhost:${port}/b`,
      ]) {
        const refused = await fetchUnder(['exact', 'wide'], `${target}/to?url=${encodeURIComponent(into)}`);
        expect(refused, into).toMatchObject(policyDenied);
      }
      expect(hits.every((hit) => hit.startsWith('GET /to'))).toBe(true);
      const allowed = await admin.tools.invoke(
        'http_fetch',
        { url: `${target}/ok` },
        { policies: ['exact'] },
      );
      expect(allowed.output).toMatchObject({ status: 200 });
      // Each call is decided on its own, yet repeated calls to one origin reuse a kept-alive connection.
      const connectionsBefore = connections;
      hits = [];
      for (let call = 0; call < 3; call += 1) {
        await admin.tools.invoke('http_fetch', { url: `${target}/again` }, { policies: ['exact'] });
      }
      expect(hits).toEqual(['GET /again', 'GET /again', 'GET /again']);
      expect(connections - connectionsBefore).toBeLessThanOrEqual(1);
      expect(
        (await admin.audit.list({ effect: 'allow', limit: 200 })).data.filter(
          (entry) => entry.resource === `${target}/again`,
        ),
      ).toHaveLength(3);
      // A direct invoke cannot wait for approval: refused, naming the rule, and nothing is sent.
      hits = [];
      expect(await fetchUnder(['matrix'], `${target}/pay`)).toMatchObject({
        status: 403,
        code: 'POLICY_DENIED',
        details: { reason: 'approval-required', resource: `${target}/pay`, policy: 'matrix', rule: 1 },
      });
      // A rule on the tool itself, decided before it runs.
      expect(
        await admin.tools
          .invoke('echo', { text: 'top secret' }, { policies: ['matrix'] })
          .catch((error: unknown) => error),
      ).toMatchObject({
        ...policyDenied,
        details: { reason: 'policy-denied', resource: 'tool:echo', policy: 'matrix', rule: 2 },
      });
      expect(hits).toEqual([]);
      await expect(
        admin.tools.invoke('http_fetch', { url: `${target}/ok` }, { policies: ['missing'] }),
      ).rejects.toMatchObject({ status: 400 });
    },
  );
  it.skipIf(skip)(
    "a local tool's call in a run is audited once, stored with its decision event and no later than its result",
    async () => {
      const { admin } = server();
      await admin.policies.create({
        name: 'echo-allowed',
        rules: [{ effect: 'allow', resource: 'tool:echo', operations: ['*'] }],
      });
      await admin.agents.create({
        slug: 'audited-echo',
        name: 'Audited echo',
        model: 'playground/playground',
        tools: ['echo'],
        policies: ['echo-allowed'],
      });
      const run = await admin.runs.create('audited-echo', { input: 'use echo {"text":"audit me"}' });
      expect(run.status).toBe('succeeded');

      const audit = (await admin.audit.list({ runId: run.id })).data;
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        runId: run.id,
        resource: 'tool:echo',
        effect: 'allow',
        policy: 'echo-allowed',
        ruleIndex: 0,
      });
      const events = await admin.runs.events(run.id);
      const decision = events.findIndex((event) => event.type === 'policy-decision');
      const result = events.findIndex((event) => event.type === 'tool-result');
      expect(decision).toBeGreaterThan(-1);
      expect(result).toBeGreaterThan(decision);
      expect(events[decision]).toMatchObject({ toolCallId: audit[0]?.toolCallId, effect: 'allow' });
    },
  );
});
