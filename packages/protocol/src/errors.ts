/**
 * The error catalogue: every error code Runyard returns, with its HTTP status, its category and
 * whether a client may retry it. `docs/errors.md` documents exactly these codes (a test checks it).
 */
export type ErrorCategory = 'user' | 'system' | 'third-party';

export interface ErrorDefinition {
  status: number;
  category: ErrorCategory;
  retryable: boolean;
  description: string;
}

export const errorCatalogue = {
  VALIDATION_FAILED: {
    status: 400,
    category: 'user',
    retryable: false,
    description: 'The request body, query or path did not match the schema; details.issues names each field.',
  },
  INVALID_JSON: {
    status: 400,
    category: 'user',
    retryable: false,
    description: 'The request body is not valid JSON.',
  },
  UNAUTHENTICATED: {
    status: 401,
    category: 'user',
    retryable: false,
    description: 'No API key was sent, or the key is unknown, revoked or expired.',
  },
  PERMISSION_DENIED: {
    status: 403,
    category: 'user',
    retryable: false,
    description: 'The API key lacks the scope this route needs; details.requiredScope names it.',
  },
  POLICY_DENIED: {
    status: 403,
    category: 'user',
    retryable: false,
    description:
      'An egress policy refused a tool invoked directly (denied, approval required, or an address the SSRF guard refuses); details name the reason, resource, policy and rule.',
  },
  NOT_FOUND: {
    status: 404,
    category: 'user',
    retryable: false,
    description: 'The resource does not exist in this workspace.',
  },
  ROUTE_NOT_FOUND: {
    status: 404,
    category: 'user',
    retryable: false,
    description: 'No route matches this method and path.',
  },
  CONFLICT: {
    status: 409,
    category: 'user',
    retryable: false,
    description: 'The change conflicts with existing state, e.g. a name that is already taken.',
  },
  IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    category: 'user',
    retryable: true,
    description: 'A request with the same Idempotency-Key is still being processed.',
  },
  PRECONDITION_FAILED: {
    status: 412,
    category: 'user',
    retryable: false,
    description: 'If-Match did not match the current ETag: the resource changed since it was read.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    category: 'user',
    retryable: false,
    description: 'The request body is larger than the configured limit.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    category: 'user',
    retryable: false,
    description: 'The request body is not application/json.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    category: 'user',
    retryable: false,
    description: 'The Idempotency-Key was already used with a different request.',
  },
  RATE_LIMITED: {
    status: 429,
    category: 'user',
    retryable: true,
    description: 'Too many requests for this API key; wait for the Retry-After header.',
  },
  INTERNAL_ERROR: {
    status: 500,
    category: 'system',
    retryable: true,
    description: 'An unexpected error inside Runyard. The request id identifies it in the logs.',
  },
  PROVIDER_ERROR: {
    status: 502,
    category: 'third-party',
    retryable: true,
    description: 'A model provider answered with an error or could not be reached.',
  },
  TOOL_FAILED: {
    status: 502,
    category: 'third-party',
    retryable: true,
    description:
      'A tool invoked directly could not produce a result (timeout, unreachable, too many redirects, its credentials refused); details.reason says which.',
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    category: 'system',
    retryable: true,
    description: 'Runyard is starting, shutting down, or cannot reach its database.',
  },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof errorCatalogue;

export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(errorCatalogue, value);
}

/**
 * Why a run ended `failed` (or `cancelled`): `run.error.code` and the `error` event. These are not
 * HTTP errors: a run that fails is still a successful request. `docs/errors.md` lists them too.
 */
export const runErrorCatalogue = {
  PROVIDER_ERROR:
    'The model provider answered with an error, or could not be reached, after every retry and fallback.',
  PROVIDER_AUTH_FAILED: 'The model provider rejected the API key (HTTP 401 or 403).',
  PROVIDER_TIMEOUT: 'The model provider did not answer within the call timeout, after every retry.',
  MAX_ITERATIONS: 'The agent reached settings.maxIterations model steps without a final answer.',
  TOOL_LOOP: 'The model called the same tool with the same arguments too many times in a row.',
  OUTPUT_SCHEMA_MISMATCH:
    "The final answer did not match the agent's outputSchema, even after one corrective retry.",
  BUDGET_EXCEEDED:
    'The run went over settings.maxTokens or settings.maxCostUsd, or the agent over its daily limit.',
  RUN_TIMEOUT: 'The run took longer than settings.timeoutMs.',
  CANCELLED:
    'The run was cancelled (POST /v1/runs/{id}/cancel, or interrupted by a newer run on its thread).',
  WORKER_LOST: 'The process running the run died and the run could not be resumed.',
  INTERNAL_ERROR: 'An unexpected error inside Runyard; the logs have the details.',
} as const;

export type RunErrorCode = keyof typeof runErrorCatalogue;
