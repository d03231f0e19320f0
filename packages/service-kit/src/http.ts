import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  HeaderMap,
  type ApolloServer,
  type BaseContext,
  type HTTPGraphQLResponse,
} from '@apollo/server';
import { ErrorCode, HttpError } from './errors.js';
import { describeError, type Logger } from './logger.js';
import {
  currentRequestContext,
  REQUEST_ID_HEADER,
  requestIdOf,
  withRequestContext,
} from './requestContext.js';

/** An HTTP request as the services see it: headers, and the body as the exact bytes received. */
export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly search: string;
  readonly headers: HeaderMap;
  /**
   * Every header as the values received, never joined: `headers` joins a repeated header with
   * ", ", which would hide that it came twice. The router's signature headers must come once.
   */
  readonly headersDistinct: Readonly<Record<string, readonly string[] | undefined>>;
  /** The raw body. Signatures are computed over these bytes, never over a re-serialized object. */
  readonly body: Buffer;
  readonly remoteAddress: string | undefined;
}

export interface RouteResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export type RouteHandler = (request: RawRequest) => Promise<RouteResponse> | RouteResponse;

export interface GraphQLRequestListenerOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  logger: Logger;
  /** Requests larger than this get 413 before anything parses them. */
  maxBodyBytes: number;
  /**
   * Builds the GraphQL context from the raw request, before Apollo Server sees it; `parsedBody`
   * gives the JSON body (undefined for a GET), parsed once. Throw an
   * `HttpError` to refuse the request outright: this is where the router checks the caller's
   * token and a subgraph checks the router's signature.
   */
  context: (request: RawRequest, parsedBody: () => unknown) => Promise<TContext>;
  /** Extra GET routes such as `/.well-known/jwks.json`. They skip `context`. */
  routes?: Readonly<Record<string, RouteHandler>>;
  graphqlPath?: string;
  /**
   * Runs first, before the body is read: may set headers on the response, answer the request
   * itself (and return true), or throw an `HttpError`. The router's CORS (router/src/cors.ts).
   */
  onRequest?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * Whether a request's own `x-request-id` (well formed, sent once) becomes its id. Otherwise each
   * request gets a new one. The router trusts a client's only when TRUST_REQUEST_ID says so; a
   * subgraph takes the router's.
   */
  trustRequestId?: boolean;
}

/** The longest operation name an access log line keeps: a client chooses it. */
const MAX_LOGGED_OPERATION_NAME = 100;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

/**
 * A Node `request` listener that serves Apollo Server. We use Apollo's integration API instead of
 * `startStandaloneServer` because the services need the raw body (to verify signatures), a body
 * size limit applied before parsing, and a couple of plain routes beside `/graphql`.
 */
export function createGraphQLRequestListener<TContext extends BaseContext>(
  options: GraphQLRequestListenerOptions<TContext>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const graphqlPath = options.graphqlPath ?? '/graphql';
  // The health routes are the HTTP server's (httpServer.ts): they answer before this listener exists.
  const routes: Readonly<Record<string, RouteHandler>> = options.routes ?? {};

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    seen: { parsed?: { value: unknown } },
  ): Promise<void> {
    if (options.onRequest?.(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const route = routes[url.pathname];

    if (url.pathname !== graphqlPath && !route) {
      if (url.pathname === '/' && method === 'GET') {
        return send(res, { status: 302, headers: { location: graphqlPath }, body: '' });
      }
      throw new HttpError(
        404,
        ErrorCode.NOT_FOUND,
        `Nothing is served at ${url.pathname}; the GraphQL endpoint is ${graphqlPath}.`,
      );
    }

    // Before the body: once a reset client's body has been read, the socket may be gone (the
    // HTTP server also reads it on connection, see httpServer.ts).
    const remoteAddress = req.socket.remoteAddress;
    const body = await readBody(req, options.maxBodyBytes);
    const request: RawRequest = {
      method,
      path: url.pathname,
      search: url.search,
      headers: toHeaderMap(req),
      headersDistinct: req.headersDistinct,
      body,
      remoteAddress,
    };

    if (route) {
      if (method !== 'GET' && method !== 'HEAD') {
        throw new HttpError(405, ErrorCode.BAD_REQUEST, `${url.pathname} only answers GET.`);
      }
      return send(res, await route(request));
    }

    // Parsed on first use, so a subgraph's signature gate refuses a request before parsing it.
    const parsedBody = () => (seen.parsed ??= { value: parseBody(request) }).value;
    const contextValue = await options.context(request, parsedBody);
    const response = await options.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method,
        headers: request.headers,
        search: url.search,
        body: parsedBody(),
      },
      context: () => Promise.resolve(contextValue),
    });
    await writeGraphQLResponse(res, response);
  }

  return (req, res) => {
    const requestId = requestIdOf(
      req.headersDistinct[REQUEST_ID_HEADER],
      options.trustRequestId ?? false,
    );
    res.setHeader(REQUEST_ID_HEADER, requestId);
    withRequestContext(requestId, () => {
      const context = currentRequestContext();
      const startedAt = performance.now();
      const seen: { parsed?: { value: unknown } } = {};
      // One line per request, when it is over: what an operator greps for first. The body is
      // read only if the request got that far, never for the log's sake.
      res.once('close', () => {
        const operationName = operationNameOf(seen.parsed?.value, req.url);
        options.logger.info('request', {
          requestId,
          method: req.method,
          path: (req.url ?? '/').split('?', 1)[0],
          status: res.statusCode,
          durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
          ...(operationName === undefined ? {} : { operationName }),
          ...(context?.userId === undefined ? {} : { userId: context.userId }),
          ...(res.writableFinished ? {} : { aborted: true }),
        });
      });
      serve(req, res, seen);
    });
  };

  function serve(
    req: IncomingMessage,
    res: ServerResponse,
    seen: { parsed?: { value: unknown } },
  ): void {
    handle(req, res, seen).catch((error: unknown) => {
      if (error instanceof HttpError) {
        // A 5xx here is an outage (keys, revocations, the database) whose cause was logged where
        // it was met: one line per request, without a stack that would be the same each time.
        if (error.status >= 500) {
          options.logger.error('request failed', {
            status: error.status,
            code: error.code,
            error: error.message,
          });
        }
        send(res, {
          status: error.status,
          headers: { ...JSON_HEADERS, ...error.headers },
          body: error.toBody(),
        });
        return;
      }
      if (req.destroyed && !res.writableEnded) {
        // The client went away before it finished sending (a reset, a closed tab): nothing to
        // answer and nothing wrong here, so no error line and no stack.
        options.logger.info('client disconnected before the request ended', {
          path: req.url,
          reason: error instanceof Error ? error.message : String(error),
        });
        return;
      }
      options.logger.error('unhandled request error', describeError(error));
      const internal = new HttpError(
        500,
        ErrorCode.INTERNAL_SERVER_ERROR,
        'Internal server error.',
      );
      send(res, { status: 500, headers: JSON_HEADERS, body: internal.toBody() });
    });
  }
}

/**
 * The operation's name for the access log, cut to MAX_LOGGED_OPERATION_NAME characters: the
 * `operationName` sent (body or query string), else the name in the document's first
 * definition. Nothing else of the request is read: variables hold passwords and tokens.
 */
function operationNameOf(body: unknown, url: string | undefined): string | undefined {
  let name: unknown;
  let query: unknown;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    name = 'operationName' in body ? body.operationName : undefined;
    query = 'query' in body ? body.query : undefined;
  } else if (body === undefined && url) {
    const search = new URL(url, 'http://localhost').searchParams;
    name = search.get('operationName');
    query = search.get('query');
  }
  if ((typeof name !== 'string' || name === '') && typeof query === 'string') {
    name = /^(?:\s|#[^\n]*\n)*(?:query|mutation|subscription)\s+([_A-Za-z]\w*)/.exec(
      query.slice(0, 2_000),
    )?.[1];
  }
  return typeof name === 'string' && name !== ''
    ? name.slice(0, MAX_LOGGED_OPERATION_NAME)
    : undefined;
}

function toHeaderMap(req: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(
      413,
      ErrorCode.PAYLOAD_TOO_LARGE,
      `The request body is larger than the limit of ${maxBytes} bytes.`,
    );
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > maxBytes) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** JSON bodies are parsed here; anything else goes to Apollo as text so CSRF prevention can refuse it. */
function parseBody(request: RawRequest): unknown {
  if (request.method !== 'POST') return undefined;
  const text = request.body.toString('utf8');
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^application\/(graphql-response\+)?json\b/i.test(contentType)) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, ErrorCode.BAD_REQUEST, 'The request body is not valid JSON.');
  }
}

async function writeGraphQLResponse(
  res: ServerResponse,
  response: HTTPGraphQLResponse,
): Promise<void> {
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

function send(res: ServerResponse, response: RouteResponse): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}
