import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { describeError, type Logger } from './logger.js';
import { isDatabaseUnavailable } from './mongo.js';

/**
 * The `extensions.code` values this graph uses. Clients switch on these, so they are part of the
 * API: add, never rename. The first ones are Apollo Server's own.
 */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** Apollo Router's code for an operation refused by safelisting (trusted documents). */
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  /**
   * Too many failed logins for a username or from an address; `extensions.retryAfterSeconds`
   * says when to try again. The same for a username that exists and one that does not.
   */
  LOGIN_THROTTLED: 'LOGIN_THROTTLED',
  /**
   * An `idempotencyKey` the caller already used for a request with other input: a new order
   * needs a new key, a retry the same input. `extensions.field` names the argument.
   */
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  /**
   * Apollo Router's code for a field taken out of an operation because the caller does not meet
   * its `@authenticated` or `@requiresScopes`; the field is null and the rest resolves.
   */
  UNAUTHORIZED_FIELD_OR_TYPE: 'UNAUTHORIZED_FIELD_OR_TYPE',
  /** Apollo Server's code for a request whose operationName matches no operation in the document. */
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  /**
   * The router's request limits (router/src/operations/limits.ts). Apollo Router's codes where
   * it has the same limit (depth, aliases, cost), the others named the same way.
   */
  MAX_DEPTH_LIMIT: 'MAX_DEPTH_LIMIT',
  MAX_ALIASES_LIMIT: 'MAX_ALIASES_LIMIT',
  MAX_DIRECTIVES_LIMIT: 'MAX_DIRECTIVES_LIMIT',
  MAX_TOKENS_LIMIT: 'MAX_TOKENS_LIMIT',
  MAX_FIELD_REPEATS_LIMIT: 'MAX_FIELD_REPEATS_LIMIT',
  ONCE_PER_REQUEST_LIMIT: 'ONCE_PER_REQUEST_LIMIT',
  COST_ESTIMATED_TOO_EXPENSIVE: 'COST_ESTIMATED_TOO_EXPENSIVE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes a client is meant to see; any other error is an internal one and gets masked. */
const PUBLIC_CODES = new Set<string>([
  ...Object.values(ErrorCode).filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR),
  // Apollo Server's request-level codes, raised before execution.
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

export function badUserInput(
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, ...extensions },
  });
}

export function forbidden(message = 'You are not allowed to do this.'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.FORBIDDEN } });
}

export function unauthenticated(
  message = 'Log in to do this: send an access token in the Authorization header.',
): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED } });
}

/** An error that stops a request at the HTTP layer, before GraphQL runs: 401, 413, 400. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
    /** Response headers, such as `WWW-Authenticate` on a 401. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  toBody(): string {
    return JSON.stringify({
      errors: [{ message: this.message, extensions: { code: this.code, ...this.extensions } }],
    });
  }
}

/**
 * Apollo Server's `formatError` for every service. Errors with a public code pass through;
 * anything else (a driver error, a bug, a subgraph's internal URL in a fetch error) is logged in
 * full and reaches the client as a generic INTERNAL_SERVER_ERROR.
 */
export function createFormatError(
  logger: Logger,
  {
    hideSuggestions = false,
  }: {
    /**
     * Take graphql-js's "Did you mean …?" out of every message. Apollo Server's
     * `hideSchemaDetailsFromClientErrors` does so for validation errors only; variable
     * coercion errors ("Did you mean the enum value "ADMIN"?") still map the schema.
     */
    hideSuggestions?: boolean;
  } = {},
) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.['code'];
    if (typeof code === 'string' && PUBLIC_CODES.has(code)) {
      // Keep the code and anything a client can act on; drop stack traces, exception details,
      // and what the gateway adds about subgraphs (their names and internal URLs).
      const { stacktrace, exception, response, serviceName, ...extensions } =
        formatted.extensions ?? {};
      const message = hideSuggestions
        ? formatted.message.replace(/ ?Did you mean [^?]*\?/g, '')
        : formatted.message;
      return { ...formatted, message, extensions };
    }
    const cause = unwrapResolverError(error);
    if (isDatabaseUnavailable(cause)) {
      // An outage, not a bug: one error line without a stack (the operator must act, and every
      // request fails the same way), and a code that tells clients to retry.
      logger.error('database unavailable', {
        path: formatted.path,
        error: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause),
      });
      return {
        message: 'The database is unavailable right now. Try again in a few seconds.',
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryAfterSeconds: 1 },
      };
    }
    logger.error('internal error', { path: formatted.path, ...describeError(cause) });
    return {
      message: 'Internal server error. It has been logged; try again later.',
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
