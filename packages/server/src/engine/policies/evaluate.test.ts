import { describe, expect, it } from 'vitest';
import type { PolicyRule } from '@runyard/protocol';
import { classifyAddress } from './addresses.ts';
import { EgressGuard } from './egress-guard.ts';
import { evaluatePolicies, type NamedPolicy } from './evaluate.ts';

const rule = (
  effect: PolicyRule['effect'],
  resource: string,
  extra: Partial<PolicyRule> = {},
): PolicyRule => ({
  effect,
  resource,
  operations: ['*'],
  ...extra,
});
const url = (text: string, method = 'GET', input: unknown = {}) =>
  ({ kind: 'url', url: new URL(text), method, input }) as const;

describe('the policy decision matrix', () => {
  const policies: NamedPolicy[] = [
    {
      name: 'stripe',
      rules: [
        rule('allow', 'https://api.stripe.com/**'),
        rule('approval_required', 'https://api.stripe.com/v1/refunds', { operations: ['POST'] }),
        rule('deny', 'https://api.stripe.com/v1/charges', {
          operations: ['POST'],
          conditions: [{ path: 'amount', op: '>', value: 500 }],
        }),
      ],
    },
    { name: 'tools', rules: [rule('deny', 'tool:danger*'), rule('allow', 'tool:echo')] },
  ];

  it.each([
    ['https://api.stripe.com/v1/customers', 'GET', {}, 'allow', 'stripe', 0],
    ['https://api.stripe.com', 'GET', {}, 'allow', 'stripe', 0],
    ['https://api.stripe.com/v1/refunds', 'POST', {}, 'approval_required', 'stripe', 1],
    ['https://api.stripe.com/v1/refunds', 'GET', {}, 'allow', 'stripe', 0],
    ['https://api.stripe.com/v1/charges', 'POST', { amount: 900 }, 'deny', 'stripe', 2],
    ['https://api.stripe.com/v1/charges', 'POST', { amount: 100 }, 'allow', 'stripe', 0],
    ['https://api.stripe.com/v1/charges', 'POST', {}, 'allow', 'stripe', 0],
    ['https://evil.example/v1/charges', 'GET', {}, 'deny', null, null],
    ['http://api.stripe.com/v1/customers', 'GET', {}, 'deny', null, null],
  ])('%s %s %j → %s', (target, method, input, effect, policy, ruleIndex) => {
    expect(evaluatePolicies(policies, url(target, method, input))).toMatchObject({
      effect,
      policy,
      ruleIndex,
    });
  });

  it('decides tool rules, allowing local tools and deferring network tools by default', () => {
    const tool = (toolName: string, network: boolean) =>
      ({ kind: 'tool', toolName, input: {}, network }) as const;
    expect(evaluatePolicies(policies, tool('danger_zone', false))).toMatchObject({
      effect: 'deny',
      policy: 'tools',
    });
    expect(evaluatePolicies(policies, tool('echo', false))).toMatchObject({ effect: 'allow', ruleIndex: 1 });
    expect(evaluatePolicies(policies, tool('current_time', false))).toMatchObject({
      effect: 'allow',
      defaulted: true,
    });
    expect(evaluatePolicies(policies, tool('shout', true))).toMatchObject({
      effect: 'allow',
      defaulted: true,
    });
  });

  it('evaluates every condition operator on dotted paths', () => {
    const check = (condition: PolicyRule['conditions'], input: unknown) =>
      evaluatePolicies(
        [{ name: 'p', rules: [rule('allow', 'https://x.test/**', { conditions: condition })] }],
        url('https://x.test/a', 'GET', input),
      ).effect;
    expect(check([{ path: 'a.b', op: 'eq', value: 'x' }], { a: { b: 'x' } })).toBe('allow');
    expect(check([{ path: 'a.b', op: 'ne', value: 'x' }], { a: { b: 'x' } })).toBe('deny');
    expect(check([{ path: 'n', op: 'in', value: [1, 2] }], { n: 2 })).toBe('allow');
    expect(check([{ path: 's', op: 'matches', value: 'ab*' }], { s: 'abc' })).toBe('allow');
    expect(check([{ path: 'n', op: 'lte', value: 5 }], { n: '5' })).toBe('deny');
    expect(check([{ path: 'n', op: 'gte', value: 5 }], { n: 5 })).toBe('allow');
  });

  it('marks an allow or approval_required rule naming the exact host, never a deny or a wildcard', () => {
    const loopback = [
      { name: 'l', rules: [rule('allow', 'http://127.0.0.1:4321/**'), rule('allow', 'http://*:4321/**')] },
    ];
    expect(evaluatePolicies(loopback, url('http://127.0.0.1:4321/x')).literalHostNamed).toBe(true);
    expect(evaluatePolicies(loopback, url('http://localhost:4321/x')).literalHostNamed).toBe(false);
    const approval = [{ name: 'a', rules: [rule('approval_required', 'http://127.0.0.1:4321/**')] }];
    expect(evaluatePolicies(approval, url('http://127.0.0.1:4321/x'))).toMatchObject({
      effect: 'approval_required',
      literalHostNamed: true,
    });
    const wildcardApproval = [{ name: 'w', rules: [rule('approval_required', 'http://*:4321/**')] }];
    expect(evaluatePolicies(wildcardApproval, url('http://127.0.0.1:4321/x')).literalHostNamed).toBe(false);
    const denied = [{ name: 'd', rules: [rule('deny', 'http://127.0.0.1:4321/**')] }];
    expect(evaluatePolicies(denied, url('http://127.0.0.1:4321/x')).literalHostNamed).toBe(false);
  });
});

describe('address classes', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['127.0.0.1', 'private'],
    ['10.1.2.3', 'private'],
    ['172.20.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['0.0.0.0', 'private'],
    ['169.254.1.1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['::1', 'private'],
    ['::', 'private'],
    ['::ffff:127.0.0.1', 'private'],
    ['::ffff:7f00:1', 'private'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['fc00::1', 'private'],
    ['fe80::1', 'private'],
    ['2606:4700::1111', 'public'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });
});

describe('the egress guard with an injected resolver', () => {
  const allowAll: NamedPolicy[] = [{ name: 'all', rules: [rule('allow', 'https://**')] }];
  const guard = (addresses: string[]) =>
    new EgressGuard(
      allowAll,
      { toolName: 't', toolCallId: 'c', input: {} },
      () => Promise.resolve(),
      () => Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))),
    );

  it('refuses a name resolving to 10.x, or to any private address among public ones', async () => {
    await expect(
      guard(['10.0.0.7']).authorize('GET', new URL('https://intranet.example/'), 'request'),
    ).rejects.toMatchObject({ reason: 'policy-denied' });
    await expect(
      guard(['8.8.8.8', '192.168.0.1']).authorize('GET', new URL('https://mixed.example/'), 'request'),
    ).rejects.toMatchObject({ reason: 'policy-denied' });
  });

  it('pins the checked public address', async () => {
    expect(
      await guard(['93.184.216.34']).authorize('GET', new URL('https://example.com/'), 'request'),
    ).toEqual({ address: '93.184.216.34', family: 4 });
  });

  it('refuses metadata names before resolving', async () => {
    await expect(
      guard(['8.8.8.8']).authorize('GET', new URL('https://metadata.google.internal/'), 'request'),
    ).rejects.toThrow(/metadata/);
  });
});
