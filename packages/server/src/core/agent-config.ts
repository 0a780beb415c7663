import { Ajv2020 } from 'ajv/dist/2020.js';
import type { AgentConfig, AgentDiff, CreateAgent } from '@runyard/protocol';
import { invalidField } from '../shared/errors.ts';
import { canonicalJson, sha256Hex } from './crypto.ts';

const schemaValidator = new Ajv2020({ strict: false, validateSchema: true });

/** The behaviour of an agent with every default filled in: what a version freezes. */
export function normalizeConfig(input: Partial<CreateAgent> & { model: string }): AgentConfig {
  return {
    model: input.model,
    instructions: input.instructions ?? '',
    tools: input.tools ?? [],
    policies: input.policies ?? [],
    outputSchema: input.outputSchema ?? null,
    settings: input.settings ?? {},
    env: input.env ?? {},
  };
}

export function contentHash(config: AgentConfig): string {
  return `sha256:${sha256Hex(canonicalJson(config))}`;
}

export function assertValidOutputSchema(outputSchema: Record<string, unknown> | null): void {
  if (outputSchema === null) return;
  let valid: boolean;
  try {
    valid = schemaValidator.validateSchema(outputSchema) as boolean;
  } catch (error) {
    throw invalidField('outputSchema', `is not a valid JSON Schema: ${(error as Error).message}`);
  }
  if (!valid) {
    const first = schemaValidator.errors?.[0];
    const where =
      first?.instancePath === undefined || first.instancePath === '' ? '' : ` at ${first.instancePath}`;
    throw invalidField('outputSchema', `is not a valid JSON Schema${where}: ${first?.message ?? 'invalid'}`);
  }
  try {
    schemaValidator.compile(outputSchema);
  } catch (error) {
    throw invalidField('outputSchema', `is not a usable JSON Schema: ${(error as Error).message}`);
  }
}

/** Every leaf that differs between two configs, by dotted path. */
export function diffConfigs(from: number, before: AgentConfig, to: number, after: AgentConfig): AgentDiff {
  const changes: AgentDiff['changes'] = [];
  const walk = (path: string, left: unknown, right: unknown) => {
    if (canonicalJson(left) === canonicalJson(right)) return;
    if (isPlainObject(left) && isPlainObject(right) && path !== 'outputSchema') {
      const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
      for (const key of keys) walk(path === '' ? key : `${path}.${key}`, left[key], right[key]);
      return;
    }
    changes.push({ path, before: left ?? null, after: right ?? null });
  };
  walk('', before, after);
  return { from, to, changes };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
