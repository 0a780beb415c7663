import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
const compiled = new WeakMap<object, ValidateFunction>();

/**
 * Validates a value against a JSON Schema. Problems come back as `- path: message` lines, the
 * form the model gets as a tool result (or a corrective prompt) so it can correct itself.
 */
export function schemaProblems(schema: Record<string, unknown>, value: unknown): string[] {
  const validate = validatorOf(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => {
    const path = error.instancePath === '' ? '(root)' : error.instancePath.slice(1).replaceAll('/', '.');
    const extra =
      error.keyword === 'additionalProperties'
        ? ` '${String((error.params as { additionalProperty?: string }).additionalProperty)}'`
        : '';
    return `- ${path}: ${error.message ?? 'is invalid'}${extra}`;
  });
}

/**
 * The compiled validator of a schema, kept as long as the schema object lives: registry tools keep
 * their schema objects per tool version (core/tool-registry.ts), so each is compiled once.
 */
export function validatorOf(schema: Record<string, unknown>): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    // Ajv would keep the schema forever; only the WeakMap holds it.
    ajv.removeSchema(schema);
    compiled.set(schema, validate);
  }
  return validate;
}
