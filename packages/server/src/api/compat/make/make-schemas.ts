import { z } from 'zod';

/**
 * Request bodies of the Make surface. Unknown fields are refused (400) rather than ignored: a
 * Make field Runyard does not implement (scenarios, mcpConfigs, contexts, …) must not silently
 * change what the agent does.
 */

/**
 * One field of a Make data structure (Make's "make-schema" output format). Other keys of Make's
 * field specs (defaults, UI hints) are accepted and ignored.
 */
export interface MakeField {
  name: string;
  type: MakeFieldType;
  label?: string | undefined;
  help?: string | undefined;
  required?: boolean | undefined;
  spec?: MakeField | MakeField[] | undefined;
  options?: { value: string | number | boolean; label?: string | undefined }[] | undefined;
}

export const makeFieldTypes = [
  'text',
  'email',
  'url',
  'color',
  'number',
  'integer',
  'uinteger',
  'boolean',
  'date',
  'select',
  'collection',
  'array',
] as const;
export type MakeFieldType = (typeof makeFieldTypes)[number];

const makeFieldSchema: z.ZodType<MakeField> = z.lazy(() =>
  z.looseObject({
    name: z.string().min(1).max(200),
    type: z.enum(makeFieldTypes),
    label: z.string().max(1000).optional(),
    help: z.string().max(4000).optional(),
    required: z.boolean().optional(),
    spec: z.union([makeFieldSchema, z.array(makeFieldSchema).max(200)]).optional(),
    options: z
      .array(
        z.looseObject({
          value: z.union([z.string(), z.number(), z.boolean()]),
          label: z.string().optional(),
        }),
      )
      .max(500)
      .optional(),
  }),
);

/**
 * `outputParserFormat`: plain text, a JSON Schema, or a Make data structure (converted to JSON
 * Schema). Anything but text becomes the agent's `outputSchema`.
 */
export const outputParserFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json-schema'), schema: z.record(z.string(), z.unknown()) }),
  z.strictObject({ type: z.literal('make-schema'), schema: z.array(makeFieldSchema).min(1).max(200) }),
]);
export type OutputParserFormat = z.infer<typeof outputParserFormatSchema>;

const nameField = z.string().trim().min(1).max(200);
const systemPromptField = z.string().min(1).max(200_000);
/** A model of the connection (`gpt-4o`) or a full reference (`openai/gpt-4o`). */
const defaultModelField = z.string().min(1).max(300).regex(/^\S+$/, 'must not contain spaces');
/** Make's ids are 32-bit integers (so are the columns that keep them). */
const teamIdField = z.number().int().positive().max(2_147_483_647);

export const createMakeAgentSchema = z.strictObject({
  name: nameField,
  teamId: teamIdField,
  makeConnectionId: z.number().int().positive().max(2_147_483_647),
  defaultModel: defaultModelField,
  systemPrompt: systemPromptField,
  outputParserFormat: outputParserFormatSchema.optional(),
});
export type CreateMakeAgent = z.infer<typeof createMakeAgentSchema>;

export const updateMakeAgentSchema = z.strictObject({
  name: nameField.optional(),
  systemPrompt: systemPromptField.optional(),
  defaultModel: defaultModelField.optional(),
  outputParserFormat: outputParserFormatSchema.optional(),
  /** Not in Make's PATCH body, but harmless when it names the same team. */
  teamId: teamIdField.optional(),
});
export type UpdateMakeAgent = z.infer<typeof updateMakeAgentSchema>;

export const runMakeAgentSchema = z.strictObject({
  /** Absent: the agent runs on its thread as it stands (Make documents only threadId and callbackUrl). */
  messages: z
    .array(z.strictObject({ role: z.enum(['user', 'assistant']), content: z.string().max(1_000_000) }))
    .min(1)
    .max(1000)
    .optional(),
  /** Any string the client chooses; the same string continues the same conversation. */
  threadId: z.string().min(1).max(500).optional(),
  callbackUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
});
export type RunMakeAgent = z.infer<typeof runMakeAgentSchema>;

/** A Make data structure as the JSON Schema of an object. */
export function makeSchemaToJsonSchema(fields: readonly MakeField[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const field of fields) {
    properties[field.name] = fieldSchema(field);
    if (field.required === true) required.push(field.name);
  }
  return { type: 'object', properties, ...(required.length > 0 && { required }) };
}

function fieldSchema(field: MakeField): Record<string, unknown> {
  const description = [field.label, field.help]
    .filter((text) => text !== undefined && text !== '')
    .join(': ');
  const described = description === '' ? {} : { description };
  switch (field.type) {
    case 'text':
    case 'email':
    case 'url':
    case 'color':
      return { type: 'string', ...described };
    case 'number':
      return { type: 'number', ...described };
    case 'integer':
      return { type: 'integer', ...described };
    case 'uinteger':
      return { type: 'integer', minimum: 0, ...described };
    case 'boolean':
      return { type: 'boolean', ...described };
    case 'date':
      return { type: 'string', format: 'date-time', ...described };
    case 'select':
      return field.options === undefined || field.options.length === 0
        ? { type: 'string', ...described }
        : { enum: field.options.map((option) => option.value), ...described };
    case 'collection':
      return { ...makeSchemaToJsonSchema(specFields(field.spec)), ...described };
    case 'array': {
      const spec = field.spec;
      const items =
        spec === undefined ? {} : Array.isArray(spec) ? makeSchemaToJsonSchema(spec) : fieldSchema(spec);
      return { type: 'array', items, ...described };
    }
  }
}

function specFields(spec: MakeField['spec']): MakeField[] {
  if (spec === undefined) return [];
  return Array.isArray(spec) ? spec : [spec];
}

/** The agent's `outputSchema` for an `outputParserFormat`: null for text. */
export function toOutputSchema(format: OutputParserFormat): Record<string, unknown> | null {
  switch (format.type) {
    case 'text':
      return null;
    case 'json-schema':
      return format.schema;
    case 'make-schema':
      return makeSchemaToJsonSchema(format.schema);
  }
}

/** `outputParser` as GET returns it: the stored schema, whatever format created it. */
export function toOutputParser(outputSchema: Record<string, unknown> | null): OutputParserFormat {
  return outputSchema === null ? { type: 'text' } : { type: 'json-schema', schema: outputSchema };
}
