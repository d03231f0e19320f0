import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { parseCacheControlHeader } from '@apollo/gateway/dist/datasources/parseCacheControlHeader.js';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import type {
  GatewayGraphQLRequest,
  GatewayGraphQLResponse,
} from '@apollo/server-gateway-interface';
import {
  getOperationAST,
  GraphQLError,
  Kind,
  OperationTypeNode,
  parse,
  type DocumentNode,
  type OperationDefinitionNode,
  type SelectionNode,
} from 'graphql';
import { Pool } from 'undici';
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
  /** Bounds the wait for a response's headers, and each wait for more of its body. */
  timeoutMs: number;
  /** The most connections open to this subgraph at once; more requests wait for one. */
  maxConnections: number;
  /**
   * Whether identical queries in flight at once for the same caller share one subgraph request.
   */
  deduplicateQueries: boolean;
  logger: Logger;
  /** Counts each fetch for an operation by outcome, with its latency. */
  metrics?: SubgraphFetchMetrics;
}

/** A subgraph's answer, as received: each caller sharing it parses its own copy of the body. */
interface SubgraphReply {
  status: number;
  contentType: string | undefined;
  cacheControl: string | undefined;
  body: string;
}

/**
 * How the router talks to a subgraph. This is where the caller's identity leaves the router:
 *
 * 1. Identity headers are set only for an authenticated caller (`x-user-id`, `x-user-role`,
 *    `x-user-scopes`), so an anonymous request carries none (never "undefined"), and
 *    `x-client-ip`, the caller's address, for every caller.
 * 2. The request is signed over the exact bytes sent: the identity headers, a timestamp, a
 *    one-time request id, the subgraph's name and the body (HMAC-SHA256, see packages/identity).
 *    The subgraph refuses anything else with 401, so identity headers sent straight to a
 *    subgraph are worthless.
 *
 * Requests go over a keep-alive connection pool of undici's, bounded by a timeout for the
 * response's headers and another between pieces of its body, and are never retried (a retried
 * mutation could run twice). Two callers asking the same subgraph the same query at the same
 * time, with the same signed identity, get one request's answer (see `share`).
 */
export class SignedIdentityDataSource implements GraphQLDataSource<RouterContext> {
  private readonly name: string;
  private readonly secret: string;
  private readonly path: string;
  private readonly pool: Pool;
  private readonly deduplicateQueries: boolean;
  private readonly inFlight = new Map<string, Promise<SubgraphReply>>();
  private readonly logger: Logger;
  private readonly metrics: SubgraphFetchMetrics | undefined;

  constructor(options: SignedIdentityDataSourceOptions) {
    if (!URL.canParse(options.url)) {
      throw new Error(`Subgraph "${options.name}" has no usable routing URL: "${options.url}"`);
    }
    const url = new URL(options.url);
    this.name = options.name;
    this.secret = options.secret;
    this.path = url.pathname + url.search;
    this.pool = new Pool(url.origin, {
      connections: options.maxConnections,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
    });
    this.deduplicateQueries = options.deduplicateQueries;
    this.logger = options.logger;
    this.metrics = options.metrics;
  }

  /**
   * A subgraph that cannot be reached, times out or answers a non-2xx status is the operator's
   * problem, not the caller's. The details (the socket error, the status and body) go to the
   * log. The client gets SERVICE_UNAVAILABLE at the path of each field this request was
   * fetching, where Apollo Gateway would put one pathless error carrying the subgraph's
   * internal URL; the rest of the response still resolves.
   */
  async process(
    options: GraphQLDataSourceProcessOptions<RouterContext>,
  ): Promise<GatewayGraphQLResponse> {
    const startedAt = performance.now();
    const incoming = options.kind === GraphQLDataSourceRequestKind.INCOMING_OPERATION;
    const observe = (outcome: string) => {
      if (incoming)
        this.metrics?.observe(this.name, outcome, (performance.now() - startedAt) / 1000);
    };
    try {
      const response = this.read(await this.fetch(options), options);
      observe('success');
      return response;
    } catch (error) {
      if (!incoming) throw error;
      observe(fetchOutcome(error));
      // One line per failed request with its real cause, and no stack: during an outage every
      // request fails the same way, and a stack each would bury the log.
      this.logger.error('subgraph request failed', {
        subgraph: this.name,
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

  /** Closes the connections to the subgraph, once the requests on them are answered. */
  close(): Promise<void> {
    return this.pool.close();
  }

  private fetch(options: GraphQLDataSourceProcessOptions<RouterContext>): Promise<SubgraphReply> {
    const { request } = options;
    if (!request.query) throw new Error('Missing query');
    const identity = this.identityOf(options);
    const body = JSON.stringify({
      query: request.query,
      variables: request.variables,
      operationName: request.operationName,
      extensions: request.extensions,
    });
    const send = () => this.send(request, identity, body);
    return this.isShareable(options) ? this.share(identity, body, send) : send();
  }

  /**
   * Who the request goes out as. Only an incoming operation carries the caller's context;
   * health checks and schema loads go out as the router itself, which is to say anonymous. The
   * caller's address goes with anonymous requests too: `login` is throttled by it, and the
   * subgraph would see only the router's own address otherwise.
   */
  private identityOf(options: GraphQLDataSourceProcessOptions<RouterContext>): SignedIdentity {
    if (options.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) return {};
    const { identity } = options.context;
    const clientIp = options.context.clientIp ?? undefined;
    if (!identity) return { clientIp };
    return {
      clientIp,
      userId: identity.id,
      role: identity.role,
      scopes: identity.scopes.length > 0 ? identity.scopes.join(' ') : undefined,
    };
  }

  /**
   * Whether the request may share another's answer: a fetch for an incoming query, all of whose
   * fetches are queries. Never one for a mutation: neither the mutation itself nor the fetches
   * after it, which must see what it wrote.
   */
  private isShareable(options: GraphQLDataSourceProcessOptions<RouterContext>): boolean {
    return (
      this.deduplicateQueries &&
      options.kind === GraphQLDataSourceRequestKind.INCOMING_OPERATION &&
      options.incomingRequestContext.operation.operation === OperationTypeNode.QUERY
    );
  }

  /**
   * Merges identical requests in flight: the first one goes out, the ones that come while it is
   * on its way wait for its answer. The key is everything the subgraph decides by, the signed
   * identity and the body, so no caller gets an answer it could not have got itself; a request
   * that starts after the answer came makes a request of its own.
   */
  private share(
    identity: SignedIdentity,
    body: string,
    send: () => Promise<SubgraphReply>,
  ): Promise<SubgraphReply> {
    const key = `${identity.userId ?? ''}\n${identity.role ?? ''}\n${identity.scopes ?? ''}\n${identity.clientIp ?? ''}\n${body}`;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const reply = send().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, reply);
    return reply;
  }

  private async send(
    request: GatewayGraphQLRequest,
    identity: SignedIdentity,
    body: string,
  ): Promise<SubgraphReply> {
    const headers: Record<string, string> = {};
    // The gateway asks for federated traces this way; any identity header in it is dropped.
    for (const [name, value] of request.http?.headers ?? []) headers[name.toLowerCase()] = value;
    for (const name of Object.values(IDENTITY_HEADERS)) delete headers[name];
    headers['content-type'] = 'application/json';
    // The id of the client's request, so that the subgraphs' log lines carry it too. It is not
    // signed: it decides nothing, and a subgraph only checks its format.
    const requestId = currentRequestContext()?.requestId;
    if (requestId) headers[REQUEST_ID_HEADER] = requestId;
    else delete headers[REQUEST_ID_HEADER];
    if (identity.clientIp) headers[IDENTITY_HEADERS.clientIp] = identity.clientIp;
    if (identity.userId) headers[IDENTITY_HEADERS.userId] = identity.userId;
    if (identity.role) headers[IDENTITY_HEADERS.role] = identity.role;
    if (identity.scopes) headers[IDENTITY_HEADERS.scopes] = identity.scopes;
    Object.assign(
      headers,
      signRequest({
        secret: this.secret,
        audience: this.name,
        userId: identity.userId,
        role: identity.role,
        scopes: identity.scopes,
        clientIp: identity.clientIp,
        body,
      }),
    );
    // After signing, and never signed: the trace context decides nothing in the subgraph, so
    // tracing (on, off, a collector's sampling) can neither weaken nor break the signature.
    injectTraceContext(headers);
    const response = await this.pool.request({ path: this.path, method: 'POST', headers, body });
    const header = (name: string) => {
      const value = response.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    return {
      status: response.statusCode,
      contentType: header('content-type'),
      cacheControl: header('cache-control'),
      body: await response.body.text(),
    };
  }

  /** The subgraph's answer as the gateway takes it: a JSON object, from a 2xx response. */
  private read(
    reply: SubgraphReply,
    options: GraphQLDataSourceProcessOptions<RouterContext>,
  ): GatewayGraphQLResponse {
    if (reply.status < 200 || reply.status > 299) {
      throw new SubgraphHttpError(
        `Subgraph "${this.name}" answered HTTP ${reply.status}: ${reply.body.slice(0, 500)}`,
        reply.status,
      );
    }
    const json =
      reply.contentType?.startsWith('application/json') ||
      reply.contentType?.startsWith('application/graphql-response+json');
    const response: unknown = json ? JSON.parse(reply.body) : reply.body;
    if (typeof response !== 'object' || response === null || Array.isArray(response)) {
      throw new Error(
        `Subgraph "${this.name}" answered something other than a JSON object: ${reply.body.slice(0, 500)}`,
      );
    }
    restrictCachePolicy(options, reply.cacheControl);
    return response as GatewayGraphQLResponse;
  }
}

interface SignedIdentity {
  userId?: string;
  role?: string;
  scopes?: string;
  clientIp?: string;
}

/**
 * What RemoteGraphQLDataSource does with a subgraph's Cache-Control: the response's cache
 * policy is the most restrictive of its subgraph answers' (no header: not cacheable).
 */
function restrictCachePolicy(
  options: GraphQLDataSourceProcessOptions<RouterContext>,
  cacheControl: string | undefined,
): void {
  if (options.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) return;
  const policy = options.incomingRequestContext.overallCachePolicy;
  if (!policy || !('restrict' in policy)) return;
  const parsed = parseCacheControlHeader(cacheControl);
  const maxAge = parsed['max-age'];
  policy.restrict({
    maxAge: typeof maxAge === 'string' && /^[0-9]+$/.test(maxAge) ? Number(maxAge) : 0,
    ...(parsed['private'] === true ? { scope: 'PRIVATE' } : {}),
    ...(parsed['public'] === true ? { scope: 'PUBLIC' } : {}),
  });
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
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  return typeof code === 'string' && TIMEOUT_CODES.has(code) ? 'timeout' : 'error';
}

/** undici's errors for a connection, a response's headers or its body that took too long. */
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * What went wrong with a subgraph request, in words an operator acts on: the error, its cause
 * when it has one, and the code (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, a reset) to alert on.
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
