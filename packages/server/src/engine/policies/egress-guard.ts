import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ToolError, type PolicyRefusal } from '../tools/tool-error.ts';
import { classifyAddress, isMetadataHostname } from './addresses.ts';
import type { ApprovalGate } from '../approvals/approval-gate.ts';
import { awaitApproval } from './approval.ts';
import type { PolicyDecisionRecord, RecordDecision } from './decision-record.ts';
import { evaluatePolicies, type NamedPolicy, type PolicyDecision } from './evaluate.ts';
import { urlResource } from './glob.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a host name resolves to (dns.lookup semantics: /etc/hosts, then DNS). */
export type HostLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: HostLookup = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((entry) => ({
    address: entry.address,
    family: entry.family === 6 ? 6 : 4,
  }));

/** What every record of one request's decision shares. */
type DecisionBase = Pick<
  PolicyDecisionRecord,
  'toolCallId' | 'toolName' | 'resource' | 'method' | 'policy' | 'ruleIndex'
>;

/** Why a request is made: the model's call, a redirect hop of it, or the tool's OAuth2 token request. */
export type OutboundPurpose = 'request' | 'redirect' | 'token';

export interface EgressCall {
  toolName: string;
  toolCallId: string;
  /** The tool's input: what `conditions` are evaluated on. */
  input: unknown;
}

/**
 * The egress check of one tool call, asked by `sendOutbound` before each request it sends. Decides
 * the request under the bound policies, then resolves the host and refuses metadata addresses
 * always and private ones unless an allow or approval_required rule names that exact host; only a
 * request both let through may ask for approval. The address it returns is the one checked: the connection is made to it, so a DNS answer that changes in between (rebinding)
 * is never used.
 */
export class EgressGuard {
  constructor(
    private readonly policies: readonly NamedPolicy[],
    private readonly call: EgressCall,
    private readonly record: RecordDecision,
    private readonly lookup: HostLookup = systemLookup,
    /** Decides approval_required requests inside a run (absent: a direct invoke, refused). */
    private readonly approvals?: ApprovalGate,
  ) {}

  async authorize(method: string, url: URL, purpose: OutboundPurpose): Promise<ResolvedAddress> {
    const { decision, base, target } = await this.check(method, url, purpose);
    if (decision.effect === 'approval_required') {
      const record: PolicyDecisionRecord = { ...base, effect: 'approval_required', reason: decision.reason };
      await this.record(record);
      await awaitApproval(record, this.call.input, this.approvals);
    } else {
      await this.record({ ...base, effect: 'allow', reason: decision.reason });
    }
    return target;
  }

  /**
   * Refuses now (recorded, as `authorize` would) a request that no approval could let through: one a
   * rule denies, or whose address the SSRF guard refuses. Asked before a `tool:` rule pauses a call
   * for a human. A request it lets through is not recorded: it is decided when it is sent.
   */
  async refuseIfUnsendable(method: string, url: URL): Promise<void> {
    await this.check(method, url, 'request');
  }

  /**
   * The policy decision and the checked address of a request no rule denies; a recorded refusal
   * otherwise. The address is checked before anyone is asked: a request the SSRF guard refuses
   * anyway must never pause a run for a human (whose approval it would then ignore). Approval is
   * answered at once (a pause is thrown, not waited for), so the address checked here is still the
   * one used.
   */
  private async check(
    method: string,
    url: URL,
    purpose: OutboundPurpose,
  ): Promise<{ decision: PolicyDecision; base: DecisionBase; target: ResolvedAddress }> {
    const decision = evaluatePolicies(this.policies, { kind: 'url', url, method, input: this.call.input });
    const base: DecisionBase = {
      toolCallId: this.call.toolCallId,
      toolName: this.call.toolName,
      resource: urlResource(url),
      method,
      policy: decision.policy,
      ruleIndex: decision.ruleIndex,
    };
    const label =
      purpose === 'request' ? '' : ` (${purpose === 'token' ? 'OAuth2 token request' : 'redirect'})`;
    if (decision.effect === 'deny') {
      await this.record({ ...base, effect: 'deny', reason: decision.reason });
      throw refused(
        `${method} ${base.resource}${label} is denied by the egress policy: ${decision.reason}`,
        base,
      );
    }
    const target = await this.resolve(url, decision.literalHostNamed);
    if ('reason' in target) {
      await this.record({ ...base, effect: 'deny', reason: target.reason });
      // The address was refused, not by a rule: no rule is reported even when one allowed the URL.
      throw refused(`${method} ${base.resource}${label} was refused: ${target.reason}`, {
        resource: base.resource,
        policy: null,
        ruleIndex: null,
      });
    }
    return { decision, base, target };
  }

  /** The address to connect to when every address of the host is allowed; otherwise why not. */
  private async resolve(url: URL, literalHostNamed: boolean): Promise<ResolvedAddress | { reason: string }> {
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    if (isMetadataHostname(hostname)) return { reason: `${hostname} is a cloud metadata endpoint` };
    let addresses: ResolvedAddress[];
    const family = isIP(hostname);
    if (family !== 0) {
      addresses = [{ address: hostname, family: family === 6 ? 6 : 4 }];
    } else {
      try {
        addresses = await this.lookup(hostname);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        throw new ToolError(
          'unreachable',
          `${hostname} could not be resolved: ${typeof code === 'string' ? code : 'lookup failed'}`,
        );
      }
      if (addresses.length === 0) throw new ToolError('unreachable', `${hostname} could not be resolved`);
    }
    // Every address is checked, not just the one used: a name must not mix public and private answers.
    for (const { address } of addresses) {
      const kind = classifyAddress(address);
      if (kind === 'metadata') return { reason: `${hostname} resolves to a cloud metadata address` };
      if (kind === 'private' && !literalHostNamed) {
        return {
          reason:
            `${hostname} resolves to a private, loopback or link-local address; ` +
            'only an allow or approval_required rule naming this exact host reaches it',
        };
      }
    }
    const [first] = addresses;
    if (first === undefined) throw new ToolError('unreachable', `${hostname} could not be resolved`);
    return first;
  }
}

function refused(message: string, refusal: PolicyRefusal): ToolError {
  const { resource, policy, ruleIndex } = refusal;
  return new ToolError('policy-denied', message, { resource, policy, ruleIndex });
}

/**
 * A guard for requests that a caller's own setting names, outside any tool call (an MCP server's
 * discovery, a run's callback): it allows exactly the URL's origin, private hosts included, since
 * the caller named that host; the SSRF guard still refuses cloud metadata endpoints, and the
 * connection goes to the address it checked. Nothing is recorded: no run or policy decided it.
 */
export function originEgress(policyName: string, url: string, call: EgressCall): EgressGuard {
  return new EgressGuard(
    [
      {
        name: policyName,
        rules: [{ effect: 'allow', resource: `${new URL(url).origin}/**`, operations: ['*'] }],
      },
    ],
    call,
    () => Promise.resolve(),
  );
}

/** What a tool without a guard gets (a context built outside the engine): every request is refused. */
export const noEgress = new EgressGuard([], { toolName: '', toolCallId: '', input: {} }, () =>
  Promise.resolve(),
);
