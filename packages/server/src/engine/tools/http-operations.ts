import type { HttpToolConfig } from '@runyard/protocol';
import { DefinitionProblem, planInput } from './http-input.ts';
import type { HttpOperation } from './http-tool.ts';
import { openApiTools } from './openapi-tools.ts';

/**
 * The callable operations of an http tool: the tool itself (named `<name>`), or one per operation
 * of its OpenAPI document (named `<name>.<operationId>`). Throws DefinitionProblem when the
 * definition cannot work; a stored version always can (it was checked when it was written).
 */
export function httpOperations(toolName: string, config: HttpToolConfig): HttpOperation[] {
  const limits = {
    auth: config.auth,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: config.maxResponseBytes,
    maxRetries: config.maxRetries,
  };
  if (config.openapi === null) {
    if (
      config.baseUrl === null ||
      config.method === null ||
      config.path === null ||
      config.inputSchema === null
    ) {
      throw new DefinitionProblem('baseUrl', 'is required for an http tool without openapi');
    }
    return [
      {
        name: toolName,
        description: config.description === '' ? `${config.method} ${config.path}` : config.description,
        baseUrl: config.baseUrl,
        plan: planInput(config.method, config.path, config.inputSchema),
        ...limits,
      },
    ];
  }
  const document = openApiTools(config.openapi);
  const baseUrl = config.baseUrl ?? document.serverUrl;
  if (baseUrl === undefined || !/^https?:\/\/[^/]/i.test(baseUrl) || /\{[^{}]*\}/.test(baseUrl)) {
    throw new DefinitionProblem(
      'baseUrl',
      'is required: the OpenAPI document names no absolute http(s) server URL (servers[0].url)',
    );
  }
  return document.operations.map((operation) => {
    let plan;
    try {
      plan = planInput(operation.method, operation.path, operation.inputSchema);
    } catch (error) {
      if (!(error instanceof DefinitionProblem)) throw error;
      throw new DefinitionProblem(
        `openapi.paths.${operation.path}.${operation.method.toLowerCase()}`,
        `${error.path.replace(/^inputSchema\.?/, 'parameters ')}: ${error.message}`.trim(),
      );
    }
    return {
      name: `${toolName}.${operation.operationId}`,
      description:
        config.description === ''
          ? operation.description
          : `${config.description}\n\n${operation.description}`,
      baseUrl,
      plan,
      ...limits,
    };
  });
}
