import { describe, expect, it } from 'vitest';
import { approvalAgent } from '../support/approval-agent.ts';
import { waitForRunStatus } from '../support/wait-until.ts';
import { backendNames } from '../support/backends.ts';
import { unusedCredentials, useToolServer } from '../support/tool-server.ts';
import { useTestServer } from '../support/use-server.ts';

const upstream = useToolServer(unusedCredentials);

/**
 * An approval_required URL rule over a private (loopback) host: the SSRF guard lets through exactly
 * the host such a rule names, and checks the address before anyone is asked, so a human never
 * approves a request that would then be refused.
 */
describe.each(backendNames)('approval_required rules and the SSRF guard on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)(
    'an approval_required rule naming the exact loopback host: approved, sent once',
    async () => {
      const { admin } = server();
      const { url } = upstream();
      const hits = (path: string, method?: string) => upstream().hits(path, method);
      // The upstream serves both backends' suites: counts are compared with what it had before.
      const hitsBefore = hits('/echo/pay');
      await admin.policies.create({
        name: 'ask-first',
        rules: [{ effect: 'approval_required', resource: `${url}/**`, operations: ['*'] }],
      });
      await admin.agents.create({
        slug: 'asker',
        name: 'asker',
        model: 'playground/playground',
        tools: ['http_fetch'],
        policies: ['ask-first'],
      });
      const paused = await admin.runs.create('asker', { input: `use http_fetch {"url":"${url}/echo/pay"}` });
      expect(paused.status).toBe('requires_action');
      expect(hits('/echo/pay')).toBe(hitsBefore);
      const pending = (await admin.approvals.list({ status: 'pending', runId: paused.id })).data;
      expect(pending).toHaveLength(1);
      expect(pending[0]).toMatchObject({
        rule: { policy: 'ask-first', ruleIndex: 0, resource: `${url}/echo/pay`, method: 'GET' },
      });

      await admin.approvals.approve(pending[0]!.id, { scope: 'once' });
      const ended = await waitForRunStatus(admin, paused.id, ['succeeded', 'failed']);
      expect(ended.status).toBe('succeeded');
      expect(hits('/echo/pay', 'GET') - hitsBefore).toBe(1);
      const events = await admin.runs.events(paused.id);
      expect(events.find((event) => event.type === 'tool-result')).toMatchObject({
        isError: false,
        output: { status: 200 },
      });
      expect(events.filter((event) => event.type === 'policy-decision').map((event) => event.effect)).toEqual(
        ['approval_required', 'approval_required'],
      );
    },
  );

  it.skipIf(skip)(
    'a private host only a wildcard covers is refused at once: no approval is ever created',
    async () => {
      const { admin } = server();
      const { url } = upstream();
      const hits = (path: string, method?: string) => upstream().hits(path, method);
      const port = new URL(url).port;
      const hitsBefore = hits('/echo/wild');
      // `*` matches within one host label: the second rule is what covers 127.0.0.1.
      await admin.policies.create({
        name: 'ask-any-host',
        rules: [
          { effect: 'approval_required', resource: `http://*:${port}/**`, operations: ['*'] },
          { effect: 'approval_required', resource: `http://127.0.0.*:${port}/**`, operations: ['*'] },
        ],
      });
      await admin.agents.create({
        slug: 'wildcard-asker',
        name: 'wildcard-asker',
        model: 'playground/playground',
        tools: ['http_fetch'],
        policies: ['ask-any-host'],
      });
      for (const host of ['127.0.0.1', 'localhost']) {
        const run = await admin.runs.create('wildcard-asker', {
          input: `use http_fetch {"url":"http://${host}:${port}/echo/wild"}`,
        });
        expect(run.status, host).toBe('succeeded');
        expect((await admin.approvals.list({ runId: run.id })).data, host).toEqual([]);
        const events = await admin.runs.events(run.id);
        expect(events.some((event) => event.type === 'approval-requested')).toBe(false);
        expect(
          events.filter((event) => event.type === 'policy-decision').map((event) => event.effect),
        ).toEqual(['deny']);
        const result = events.find((event) => event.type === 'tool-result');
        expect(result).toMatchObject({ isError: true });
        expect(JSON.stringify(result)).toContain('naming this exact host');
      }
      expect(hits('/echo/wild')).toBe(hitsBefore);
      const audit = await admin.audit.list({ agent: 'wildcard-asker' });
      expect(audit.data.map((entry) => entry.effect)).toEqual(['deny', 'deny']);
    },
  );

  it.skipIf(skip)(
    'a tool: approval rule asks no one when the call’s request would be refused anyway',
    async () => {
      const { admin } = server();
      const { url } = upstream();
      const hits = (path: string) => upstream().hits(path);
      const port = new URL(url).port;
      // http_fetch calls need approval; GETs to the upstream's exact host are allowed.
      await approvalAgent(admin, { slug: 'tool-asker', target: url });
      const hitsBefore = hits('/echo/refused');
      for (const refusedUrl of [
        `http://localhost:${port}/echo/refused`,
        `http://127.0.0.2:${port}/echo/refused`,
      ]) {
        const run = await admin.runs.create('tool-asker', {
          input: `use http_fetch {"url":"${refusedUrl}"}`,
        });
        expect(run.status, refusedUrl).toBe('succeeded');
        expect((await admin.approvals.list({ runId: run.id })).data, refusedUrl).toEqual([]);
        const events = await admin.runs.events(run.id);
        expect(events.some((event) => event.type === 'approval-requested')).toBe(false);
        // The tool rule's decision, then the request's refusal.
        expect(
          events
            .filter((event) => event.type === 'policy-decision')
            .map((event) => [event.resource, event.effect]),
        ).toEqual([
          ['tool:http_fetch', 'approval_required'],
          [refusedUrl, 'deny'],
        ]);
        expect(events.find((event) => event.type === 'tool-result')).toMatchObject({ isError: true });
      }
      expect(hits('/echo/refused')).toBe(hitsBefore);
      // A call whose request would be sent still waits for a human.
      const paused = await admin.runs.create('tool-asker', {
        input: `use http_fetch {"url":"${url}/echo/ok"}`,
      });
      expect(paused.status).toBe('requires_action');
    },
  );
});
