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
