import { validatorOf } from './validate-input.ts';

export interface InputIssue {
  /** Dotted, e.g. `items.0.name`; '' for the input itself. */
  path: string;
  message: string;
}

/**
 * Where a value breaks a tool's input schema, one issue per problem, for an API answer (the model
 * gets the same problems as text from `schemaProblems`).
 */
export function inputIssues(schema: Record<string, unknown>, value: unknown): InputIssue[] {
  const validate = validatorOf(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => {
    const extra =
      error.keyword === 'additionalProperties'
        ? ` '${String((error.params as { additionalProperty?: string }).additionalProperty)}'`
        : '';
    return {
      path: error.instancePath.slice(1).replaceAll('/', '.'),
      message: `${error.message ?? 'is invalid'}${extra}`,
    };
  });
}
