import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, Lexer, parse, Source, TokenKind, type GraphQLFormattedError } from 'graphql';
import {
  Counter,
  ErrorCode,
  Gauge,
  Histogram,
  HttpError,
  REQUEST_DURATION_BUCKETS,
  type Registry,
} from '@supergraph/service-kit';
import type { RouterContext } from './context.js';
import type { RequestOperation } from './operations/requestOperations.js';

/** The `operation_name` of an operation without a name. */
export const ANONYMOUS = 'anonymous';
/** The `operation_name` of every operation whose name is not in the trusted documents manifest. */
export const UNKNOWN = 'unknown';

export type OperationType = 'query' | 'mutation' | 'subscription' | 'unknown';

export interface OperationLabels {
  operation_name: string;
  operation_type: OperationType;
}

/** Why the router refused an access token, as `supergraph_router_token_refusals_total` says it. */
export type TokenRefusalReason =
  'expired' | 'revoked' | 'invalid' | 'jwks_unavailable' | 'revocations_unavailable';

/** The request limit behind each refusal code (router/src/operations/limits.ts, MAX_BODY_BYTES). */
const LIMIT_OF_CODE: Readonly<Record<string, string>> = {
  [ErrorCode.MAX_DEPTH_LIMIT]: 'depth',
  [ErrorCode.MAX_ALIASES_LIMIT]: 'aliases',
  [ErrorCode.MAX_DIRECTIVES_LIMIT]: 'directives',
  [ErrorCode.MAX_TOKENS_LIMIT]: 'tokens',
  [ErrorCode.MAX_FIELD_REPEATS_LIMIT]: 'field_repeats',
  [ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE]: 'cost',
  [ErrorCode.ONCE_PER_REQUEST_LIMIT]: 'once_per_request',
  [ErrorCode.PAYLOAD_TOO_LARGE]: 'body_size',
};

/** What an `extensions.code` must look like to become a label; anything else is `error`. */
const CODE_LABEL = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * The outcome label of a GraphQL response: `success` without errors; the code
 * UNAUTHORIZED_FIELD_OR_TYPE when every error is the router's authorization taking fields out;
 * `partial` when there is data beside other errors; else the first error's code.
 */
export function classifyOutcome(body: {
  readonly data?: unknown;
  readonly errors?: readonly Pick<GraphQLFormattedError, 'extensions'>[] | undefined;
}): string {
  const errors = body.errors ?? [];
  if (errors.length === 0) return 'success';
  const codes = errors.map(({ extensions }) => extensions?.['code']);
  if (codes.every((code) => code === ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE)) {
    return ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE;
  }
  if (body.data !== undefined && body.data !== null) return 'partial';
  const [first] = codes;
  return typeof first === 'string' && CODE_LABEL.test(first) ? first : 'error';
}

/**
 * The outcome of a response the router wrote without a GraphQL body it could read (its HTTP
 * layer's refusals before any operation was looked at): by status, as http.ts answers them.
 */
function outcomeOfStatus(status: number): string {
  if (status === 413) return ErrorCode.PAYLOAD_TOO_LARGE;
  if (status === 401) return ErrorCode.UNAUTHENTICATED;
  if (status === 403) return ErrorCode.FORBIDDEN;
  if (status === 404) return ErrorCode.NOT_FOUND;
  if (status === 503) return ErrorCode.SERVICE_UNAVAILABLE;
  if (status >= 500) return ErrorCode.INTERNAL_SERVER_ERROR;
  if (status >= 400) return ErrorCode.BAD_REQUEST;
  return 'success';
}

/** One operation of the manifest: its name, and whether it reads or writes. */
export interface KnownOperation {
  readonly name: string | undefined;
  readonly type: OperationType;
}

/** The operations a document defines (fragments aside), for the manifest's labels. */
export function operationsOfDocument(document: string): KnownOperation[] {
  try {
    return parse(document).definitions.flatMap((definition) =>
      definition.kind === Kind.OPERATION_DEFINITION
        ? [{ name: definition.name?.value, type: definition.operation }]
        : [],
    );
  } catch {
    // A document that does not parse names nothing; Apollo Server refuses it when it is sent.
    return [];
  }
}

/**
 * The operation type and name a query text starts with, read from its first two tokens only, so
 * that it costs nothing whatever the client sent (the request limits run after it).
 */
function peekOperation(query: string): KnownOperation {
  const lexer = new Lexer(new Source(query));
  try {
    const first = lexer.advance();
    if (first.kind === TokenKind.BRACE_L) return { name: undefined, type: 'query' };
    if (
      first.kind !== TokenKind.NAME ||
      (first.value !== 'query' && first.value !== 'mutation' && first.value !== 'subscription')
    ) {
      return { name: undefined, type: 'unknown' };
    }
    const second = lexer.advance();
    return { name: second.kind === TokenKind.NAME ? second.value : undefined, type: first.value };
  } catch {
    return { name: undefined, type: 'unknown' };
  }
}

export interface TrustedOperationNames {
  /** Every operation name of the manifest's documents: the only names that become labels. */
  readonly names: ReadonlySet<string>;
  /** The operation a manifest hash stands for, when its document has a single one. */
  byHash(hash: string): KnownOperation | undefined;
}

/**
 * The labels of an operation as a request carries it, before Apollo Server has parsed it. The
 * name is a label only if the manifest knows it: a client must not be able to grow the label
 * set, and Prometheus keeps one series per label value.
 */
export function operationLabels(
  operation: RequestOperation | undefined,
  trusted: TrustedOperationNames,
): OperationLabels {
  if (!operation) return { operation_name: UNKNOWN, operation_type: 'unknown' };
  const known = operation.hash === undefined ? undefined : trusted.byHash(operation.hash);
  const peeked =
    known ?? (operation.query === undefined ? undefined : peekOperation(operation.query));
  // A hash the manifest does not have, and no name: nothing says what it is.
  if (!peeked && !operation.operationName) {
    return { operation_name: UNKNOWN, operation_type: 'unknown' };
  }
  return boundedLabels(operation.operationName ?? peeked?.name, peeked?.type ?? 'unknown', trusted);
}

function boundedLabels(
  name: string | undefined | null,
  type: OperationType,
  trusted: TrustedOperationNames,
): OperationLabels {
  return {
    operation_name: !name ? ANONYMOUS : trusted.names.has(name) ? name : UNKNOWN,
    operation_type: type,
  };
}

/** What the router knows about one request while it runs, for its metrics. */
interface RequestState {
  readonly startedAt: number;
  labels: OperationLabels | undefined;
  outcome: string | undefined;
  /** A GET of the landing page, not an operation. */
  skip: boolean;
}

export interface RouterMetrics {
  /**
   * Wraps the router's request listener: every POST or GET of `graphqlPath` is counted once it
   * is answered, whether Apollo Server ran it or the router refused it before (limits, tokens,
   * trusted documents, body size).
   */
  instrument(
    listener: (req: IncomingMessage, res: ServerResponse) => void,
    graphqlPath?: string,
  ): (req: IncomingMessage, res: ServerResponse) => void;
  /** Notes the operation of the request being handled (from the router's `context`). */
  noteOperation(operation: RequestOperation | undefined, isLandingPage: boolean): void;
  /**
   * Wraps the router's `context`, which refuses requests before Apollo Server runs (trusted
   * documents, request limits, tokens): the refusal's code becomes the request's outcome.
   */
  countRefusals<A extends unknown[], R>(
    context: (...args: A) => Promise<R>,
  ): (...args: A) => Promise<R>;
  /** Reads the outcome of each operation Apollo Server ran, and its exact name and type. */
  readonly plugin: ApolloServerPlugin<RouterContext>;
  readonly tokenRefusals: (reason: TokenRefusalReason) => void;
  readonly subgraphFetches: SubgraphFetchMetrics;
  /** Reports the age of the router's copy of the revocation list at each scrape. */
  revocationListAge(ageSeconds: () => number): void;
}

export interface SubgraphFetchMetrics {
  observe(subgraph: string, outcome: string, seconds: number): void;
}

/** The router's metrics, in `registry`. */
export function createRouterMetrics(
  registry: Registry,
  trusted: TrustedOperationNames,
): RouterMetrics {
  const labelNames = ['operation_name', 'operation_type', 'outcome'] as const;
  const requests = new Counter({
    name: 'supergraph_router_requests_total',
    help: 'GraphQL requests the router answered, by operation (its name if the trusted documents manifest has it, else unknown; anonymous without one), operation type and outcome (success, partial, or the first error code).',
    labelNames,
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'supergraph_router_request_duration_seconds',
    help: 'How long the router took to answer a GraphQL request, by operation and outcome.',
    labelNames,
    buckets: [...REQUEST_DURATION_BUCKETS],
    registers: [registry],
  });
  const fetches = new Counter({
    name: 'supergraph_router_subgraph_fetches_total',
    help: 'Requests the router sent a subgraph for an operation, by subgraph and outcome (success, error, http_<status>, timeout).',
    labelNames: ['subgraph', 'outcome'] as const,
    registers: [registry],
  });
  const fetchDurations = new Histogram({
    name: 'supergraph_router_subgraph_fetch_duration_seconds',
    help: 'How long a subgraph took to answer the router, by subgraph and outcome.',
    labelNames: ['subgraph', 'outcome'] as const,
    buckets: [...REQUEST_DURATION_BUCKETS],
    registers: [registry],
  });
  const tokenRefusals = new Counter({
    name: 'supergraph_router_token_refusals_total',
    help: 'Access tokens the router refused, by reason (expired, revoked, invalid, jwks_unavailable, revocations_unavailable).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const limitRefusals = new Counter({
    name: 'supergraph_router_limit_refusals_total',
    help: 'Requests refused by a request limit, by limit (depth, aliases, directives, tokens, field_repeats, cost, once_per_request, body_size).',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  const trustedDocumentRefusals = new Counter({
    name: 'supergraph_router_trusted_document_refusals_total',
    help: 'Operations refused because they are not in the trusted documents manifest (PERSISTED_DOCUMENTS_MODE=enforce).',
    registers: [registry],
  });
  // Zero from the start, so that a dashboard's rate() sees the first refusal.
  for (const limit of new Set(Object.values(LIMIT_OF_CODE))) limitRefusals.inc({ limit }, 0);
  trustedDocumentRefusals.inc(0);

  const current = new AsyncLocalStorage<RequestState>();

  function record(state: RequestState, status: number): void {
    if (state.skip) return;
    const outcome = state.outcome ?? outcomeOfStatus(status);
    const labels = {
      ...(state.labels ?? { operation_name: UNKNOWN, operation_type: 'unknown' as const }),
      outcome,
    };
    requests.inc(labels);
    durations.observe(labels, (performance.now() - state.startedAt) / 1000);
    const limit = LIMIT_OF_CODE[outcome];
    if (limit) limitRefusals.inc({ limit });
    if (outcome === ErrorCode.PERSISTED_QUERY_NOT_IN_LIST) trustedDocumentRefusals.inc();
  }

  return {
    instrument: (listener, graphqlPath = '/graphql') =>
      function countedListener(req, res) {
        const path = (req.url ?? '/').split('?', 1)[0];
        // CORS preflights and other paths are not operations.
        if (path !== graphqlPath || req.method === 'OPTIONS') return listener(req, res);
        const state: RequestState = {
          startedAt: performance.now(),
          labels: undefined,
          outcome: undefined,
          skip: false,
        };
        res.once('finish', () => record(state, res.statusCode));
        current.run(state, () => listener(req, res));
      },
    noteOperation(operation, isLandingPage) {
      const state = current.getStore();
      if (!state) return;
      state.skip = isLandingPage;
      state.labels = operationLabels(operation, trusted);
    },
    countRefusals:
      (context) =>
      async (...args) => {
        try {
          return await context(...args);
        } catch (error) {
          const state = current.getStore();
          if (state && error instanceof HttpError) state.outcome = error.code;
          throw error;
        }
      },
    plugin: {
      async requestDidStart() {
        return {
          async didResolveOperation({ operation, operationName }) {
            const state = current.getStore();
            if (state && operation) {
              state.labels = boundedLabels(operationName, operation.operation, trusted);
            }
          },
          async willSendResponse({ response }) {
            const state = current.getStore();
            if (!state) return;
            state.outcome =
              response.body.kind === 'single'
                ? classifyOutcome(response.body.singleResult)
                : classifyOutcome(response.body.initialResult);
          },
        };
      },
    },
    tokenRefusals: (reason) => tokenRefusals.inc({ reason }),
    subgraphFetches: {
      observe(subgraph, outcome, seconds) {
        fetches.inc({ subgraph, outcome });
        fetchDurations.observe({ subgraph, outcome }, seconds);
      },
    },
    revocationListAge(ageSeconds) {
      new Gauge({
        name: 'supergraph_router_revocation_list_age_seconds',
        help: "Seconds since the router's copy of the access token revocation list was last fetched whole (+Inf before the first fetch). It is fetched when a logged-in request needs it, so it grows while none comes.",
        registers: [registry],
        collect() {
          this.set(ageSeconds());
        },
      });
    },
  };
}
