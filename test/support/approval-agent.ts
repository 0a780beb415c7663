import type { Run } from '@runyard/protocol';
import type { Runyard } from '@runyard/sdk';

/**
 * An agent whose `http_fetch` calls need human approval, under the policy `guarded` (created once per
 * workspace): GETs to `target` are allowed, so an approved call really reaches the test's API.
 */
export async function approvalAgent(
  client: Runyard,
  options: { slug: string; target: string; model?: string },
): Promise<void> {
  if ((await client.policies.list()).data.every((policy) => policy.name !== 'guarded')) {
    await client.policies.create({
      name: 'guarded',
      rules: [
        { effect: 'allow', resource: `${options.target}/**`, operations: ['GET'] },
        { effect: 'approval_required', resource: 'tool:http_fetch', operations: ['*'] },
      ],
    });
  }
  await client.agents.create({
    slug: options.slug,
    name: options.slug,
    model: options.model ?? 'playground/playground',
    tools: ['http_fetch'],
    policies: ['guarded'],
  });
}

/** Polls until the run is in one of `statuses`: a paused run's worker resumes it on its own. */
export async function untilStatus(client: Runyard, runId: string, statuses: Run['status'][]): Promise<Run> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const run = await client.runs.get(runId);
    if (statuses.includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} is still ${run.status}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
