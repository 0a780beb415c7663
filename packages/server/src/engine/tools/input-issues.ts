import { Ajv2020 } from 'ajv/dist/2020.js';

const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });

export interface InputIssue {
  /** Dotted, e.g. `items.0.name`; '' for the input itself. */
  path: string;
  message: string;
}

/**
 * Where a value breaks a tool's input schema, one issue per problem, for an API answer (the model
 * gets the same problems as text from `schemaProblems`). The compiled schema is not kept: tools are
 * built per call, so caching by schema object would only grow the process.
 */
export function inputIssues(schema: Record<string, unknown>, value: unknown): InputIssue[] {
  const validate = ajv.compile(schema);
  try {
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
  } finally {
    ajv.removeSchema(schema);
  }
}
