import { describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';
import {
  expectRunagentsError,
  freshWorkspace,
  json,
  runagentsClient,
  waitForStatus,
} from './compat-runagents-http.ts';

interface EventView {
  sequence: number;
  type: string;
  data: Record<string, unknown>;
}

describe.each(backendNames)('the runagents surface: approvals on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('pauses a Critical tool call, then approves or denies it per run', async () => {
    const key = await freshWorkspace(server(), 'runagents approvals');
    const call = runagentsClient(server(), key);
    await call('POST', '/api/starter-kit');
    const echo = json<{ name: string; spec: { connection: { baseUrl: string } } }[]>(
      await call('GET', '/api/tools'),
    ).find((tool) => tool.name === 'echo-tool');
    const baseUrl = echo?.spec.connection.baseUrl ?? '';
    const critical = await call('POST', '/api/tools', {
      body: {
        name: 'echo-tool',
        spec: {
          connection: { baseUrl, authentication: { type: 'None' } },
          accessMode: 'Critical',
          inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        },
      },
    });
    expect(critical.body).toMatchObject({ spec: { accessMode: 'Critical' } });
    const deployed = await call('POST', '/api/deploy', {
      body: {
        agent_name: 'careful-agent',
        system_prompt: 'Echo carefully.',
        llm_configs: [{ provider: 'playground-llm', model: 'playground' }],
        required_tools: ['echo-tool'],
      },
    });
    expect(deployed.status).toBe(201);

    const input = 'use echo-tool {"text":"approve me"}';
    const approvedRun = json<{ id: string }>(
      await call('POST', '/runs', { body: { agent_id: 'careful-agent', input } }),
    );
    await waitForStatus(call, approvedRun.id, ['PAUSED_APPROVAL']);
    expect(
      json<{ id: string }[]>(await call('GET', '/runs?status=PAUSED_APPROVAL')).map((run) => run.id),
    ).toEqual([approvedRun.id]);
    const paused = json<EventView[]>(await call('GET', `/runs/${approvedRun.id}/events`));
    expect(paused.at(-1)).toMatchObject({
      type: 'APPROVAL_REQUIRED',
      data: { tool: 'echo-tool', policy: 'access-echo-tool' },
    });
    expectRunagentsError(
      await call('POST', `/runs/${approvedRun.id}/approve`, { body: { scope: 'forever' } }),
      400,
      'bad_request',
    );
    const approval = await call('POST', `/runs/${approvedRun.id}/approve`, { body: { scope: 'once' } });
    expect(approval.body).toMatchObject({ status: 'APPROVED', scope: 'once', tool: 'echo-tool' });
    expect(await waitForStatus(call, approvedRun.id, ['COMPLETED', 'FAILED'])).toMatchObject({
      status: 'COMPLETED',
    });
    const events = json<EventView[]>(await call('GET', `/runs/${approvedRun.id}/events`));
    // The model's step ends with its tool call; the call waits for approval, then runs.
    expect(events.map((event) => event.type)).toEqual([
      'TOOL_CALL',
      'LLM_CALL',
      'APPROVAL_REQUIRED',
      'APPROVAL_GRANTED',
      'LLM_CALL',
      'COMPLETED',
    ]);
    expect(events.find((event) => event.type === 'TOOL_CALL')?.data).toMatchObject({ is_error: false });
    expect(events.map((event) => event.sequence)).toEqual(events.map((_event, index) => index + 1));
    expectRunagentsError(
      await call('POST', `/runs/${approvedRun.id}/approve`, { body: {} }),
      409,
      'conflict',
    );

    const deniedRun = json<{ id: string }>(
      await call('POST', '/runs', { body: { agent_id: 'careful-agent', input } }),
    );
    await waitForStatus(call, deniedRun.id, ['PAUSED_APPROVAL']);
    const denial = await call('POST', `/runs/${deniedRun.id}/deny`, { body: { reason: 'not today' } });
    expect(denial.body).toMatchObject({ status: 'REJECTED', reason: 'not today' });
    expect(await waitForStatus(call, deniedRun.id, ['COMPLETED', 'FAILED'])).toMatchObject({
      status: 'COMPLETED',
    });
    const deniedEvents = json<EventView[]>(await call('GET', `/runs/${deniedRun.id}/events`));
    expect(deniedEvents.map((event) => event.type)).toContain('APPROVAL_REJECTED');
    expect(deniedEvents.find((event) => event.type === 'APPROVAL_REJECTED')?.data).toMatchObject({
      reason: 'not today',
    });
  });
});
