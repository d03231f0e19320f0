import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import type {
  GatewayGraphQLRequest,
  GatewayGraphQLResponse,
} from '@apollo/server-gateway-interface';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import {
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  type DocumentNode,
  type OperationDefinitionNode,
  type SelectionNode,
} from 'graphql';
import { IDENTITY_HEADERS, signRequest } from '@supergraph/identity';
import {
  currentRequestContext,
  describeError,
  ErrorCode,
  injectTraceContext,
  REQUEST_ID_HEADER,
  type Logger,
} from '@supergraph/service-kit';
import type { RouterContext } from '../context.js';
import type { SubgraphFetchMetrics } from '../metrics.js';

export interface SignedIdentityDataSourceOptions {
  /** The subgraph's name in the supergraph (`users`); it is signed as the audience. */
  name: string;
  url: string;
  secret: string;
  timeoutMs: number;
  logger: Logger;
  /** Counts each fetch for an operation by outcome, with its latency. */
  metrics?: SubgraphFetchMetrics;
}

/**
 * How the router talks to a subgraph. This is where the caller's identity leaves the router:
 *
 * 1. `willSendRequest` removes any identity headers and sets `x-user-id`, `x-user-role` and
 *    `x-user-scopes` only for an authenticated caller, so an anonymous request carries neither (never "undefined"),
 *    and `x-client-ip`, the caller's address, for every caller.
 * 2. The fetcher signs the exact bytes it sends: the identity headers, a timestamp, the
 *    subgraph's name and the body (HMAC-SHA256, see packages/identity). The subgraph refuses
 *    anything else with 401, so identity headers sent straight to a subgraph are worthless.
 *
 * The fetcher also bounds every subgraph request with a timeout, which the gateway's default
 * fetcher lacks, and never retries (a retried mutation could run twice).
 */
export class SignedIdentityDataSource extends RemoteGraphQLDataSource<RouterContext> {
  private readonly subgraphName: string;
  private readonly logger: Logger;
  private readonly metrics: SubgraphFetchMetrics | undefined;

  constructor(options: SignedIdentityDataSourceOptions) {
    super({ url: options.url, fetcher: createSigningFetcher(options) });
    this.subgraphName = options.name;
    this.logger = options.logger;
    this.metrics = options.metrics;
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<RouterContext>): void {
    const headers = options.request.http?.headers;
    if (!headers) return;
    for (const name of Object.values(IDENTITY_HEADERS)) headers.delete(name);
    // The id of the client's request, so that the subgraphs' log lines carry it too. It is not
    // signed: it decides nothing, and a subgraph only checks its format.
    const requestId = currentRequestContext()?.requestId;
    if (requestId) headers.set(REQUEST_ID_HEADER, requestId);
    else headers.delete(REQUEST_ID_HEADER);
    // Only an incoming operation carries the caller's context; health checks and schema loads
    // go out as the router itself, which is to say anonymous.
    if (options.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) return;
    // The caller's address goes with anonymous requests too: `login` is throttled by it, and the
    // subgraph sees only the router's own address otherwise.
    const { identity, clientIp } = options.context;
    if (clientIp) headers.set(IDENTITY_HEADERS.clientIp, clientIp);
    if (!identity) return;
    headers.set(IDENTITY_HEADERS.userId, identity.id);
    headers.set(IDENTITY_HEADERS.role, identity.role);
    if (identity.scopes.length > 0) headers.set(IDENTITY_HEADERS.scopes, identity.scopes.join(' '));
  }

  /**
   * A subgraph that cannot be reached, times out or answers a non-2xx status is the operator's
   * problem, not the caller's. The details (the subgraph's URL, the socket error, the status and
   * body) go to the log. The client gets SERVICE_UNAVAILABLE at the path of each field this
   * request was fetching, where Apollo Gateway would put one pathless error carrying the
   * subgraph's internal URL; the rest of the response still resolves.
   */
  override async process(
    options: GraphQLDataSourceProcessOptions<RouterContext>,
  ): Promise<GatewayGraphQLResponse> {
    const startedAt = performance.now();
    const observe = (outcome: string) => {
      if (options.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) return;
      this.metrics?.observe(this.subgraphName, outcome, (performance.now() - startedAt) / 1000);
    };
    try {
      const response = await super.process(options);
      observe('success');
      return response;
    } catch (error) {
      if (options.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) throw error;
      observe(fetchOutcome(error));
      // One line per failed request with its real cause, and no stack: during an outage every
      // request fails the same way, and a stack each would bury the log.
      this.logger.error('subgraph request failed', {
        subgraph: this.subgraphName,
        ...describeFailure(error),
      });
      this.logger.debug('subgraph request failed: stack', describeError(error));
      const failure = {
        message: 'Part of this response cannot be loaded right now. Try again shortly.',
        extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryAfterSeconds: 1 },
      };
      const paths = failedFieldPaths(options.document, options.request);
      return { errors: paths.length > 0 ? paths.map((path) => ({ ...failure, path })) : [failure] };
    }
  }

  /** Turns a non-2xx answer into the error `process` logs; it never reaches a client as is. */
  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    const body = await response.text().catch(() => '');
    return new SubgraphHttpError(
      `Subgraph "${this.subgraphName}" answered HTTP ${response.status}: ${body.slice(0, 500)}`,
      response.status,
    );
  }
}

/** A subgraph's non-2xx answer, with its status for the fetch metrics. */
class SubgraphHttpError extends GraphQLError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * The outcome label of a failed subgraph fetch: `http_<status>` for an answer that was not 2xx,
 * `timeout` when SUBGRAPH_TIMEOUT_MS ran out, else `error` (refused, reset, unreadable).
 */
function fetchOutcome(error: unknown): string {
  if (error instanceof SubgraphHttpError) return `http_${error.status}`;
  const isTimeout = (value: unknown) => value instanceof Error && value.name === 'TimeoutError';
  if (isTimeout(error) || (error instanceof Error && isTimeout(error.cause))) return 'timeout';
  return 'error';
}

/**
 * What went wrong with a subgraph request, in words an operator acts on: fetch's own message is
 * only "fetch failed", and the reason (ECONNREFUSED, a timeout, a reset) is in its `cause`.
 */
function describeFailure(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) {
    return { error: typeof error === 'object' ? JSON.stringify(error) : String(error) };
  }
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const codeOf = (value: Error | undefined) =>
    value && 'code' in value && typeof value.code === 'string' ? value.code : undefined;
  const code = codeOf(cause) ?? codeOf(error);
  return {
    error: `${error.name}: ${error.message}`,
    ...(cause ? { cause: `${cause.name}: ${cause.message}` } : {}),
    ...(code ? { code } : {}),
  };
}

/** No client needs more than this many errors to learn that a subgraph is down. */
const MAX_FAILURE_ERRORS = 100;

/**
 * The paths, relative to the fetch, of the fields a failed subgraph request was for. The gateway
 * places them in the client's response: a root field's key under the fetch's position, and
 * `_entities/<i>/<key>` at the i-th entity's path.
 */
function failedFieldPaths(
  document: DocumentNode | undefined,
  request: GatewayGraphQLRequest,
): (string | number)[][] {
  let operation: OperationDefinitionNode | undefined;
  try {
    operation =
      getOperationAST(document ?? parse(request.query ?? ''), request.operationName) ?? undefined;
  } catch {
    operation = undefined;
  }
  if (!operation) return [];
  const keys = (selections: readonly SelectionNode[]): string[] =>
    selections.flatMap((selection) =>
      selection.kind === Kind.FIELD
        ? [selection.alias?.value ?? selection.name.value]
        : selection.kind === Kind.INLINE_FRAGMENT
          ? keys(selection.selectionSet.selections)
          : [],
    );
  const [root] = operation.selectionSet.selections;
  if (root?.kind === Kind.FIELD && root.name.value === '_entities' && root.selectionSet) {
    const representations: unknown = request.variables?.['representations'];
    const count = Array.isArray(representations) ? representations.length : 0;
    const fields = keys(root.selectionSet.selections).filter((key) => key !== '__typename');
    const paths: (string | number)[][] = [];
    for (let index = 0; index < count && paths.length < MAX_FAILURE_ERRORS; index += 1) {
      for (const key of fields) paths.push(['_entities', index, key]);
    }
    return paths.slice(0, MAX_FAILURE_ERRORS);
  }
  return keys(operation.selectionSet.selections).map((key) => [key]);
}

function createSigningFetcher({
  name,
  secret,
  timeoutMs,
}: SignedIdentityDataSourceOptions): Fetcher {
  return async (url, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    const body = init.body ?? '';
    Object.assign(
      headers,
      signRequest({
        secret,
        audience: name,
        userId: headers[IDENTITY_HEADERS.userId],
        role: headers[IDENTITY_HEADERS.role],
        scopes: headers[IDENTITY_HEADERS.scopes],
        clientIp: headers[IDENTITY_HEADERS.clientIp],
        body,
      }),
    );
    // After signing, and never signed: the trace context decides nothing in the subgraph, so
    // tracing (on, off, a collector's sampling) can neither weaken nor break the signature.
    injectTraceContext(headers);
    return fetch(url, {
      method: init.method ?? 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  };
}
