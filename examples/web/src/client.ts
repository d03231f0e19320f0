import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { DocumentNode } from 'graphql';
import { LogoutDocument, RefreshTokenDocument } from './operations.js';
import { clearSession, loadSession, saveSession, sessionFrom, type Session } from './session.js';

/**
 * Codes the page tells apart. The server's come from `extensions.code`; NETWORK_ERROR and
 * BAD_RESPONSE are this client's own, for answers that never were GraphQL.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'PERSISTED_QUERY_NOT_IN_LIST'
  | 'LOGIN_THROTTLED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'SERVICE_UNAVAILABLE'
  | 'NETWORK_ERROR'
  | 'BAD_RESPONSE'
  | 'UNKNOWN';

/** A request that did not produce data: `message` is the server's, when there was a server. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The HTTP status, or null when no response arrived. */
    readonly status: number | null,
    /**
     * The router's `extensions.reason` for a refused access token: `expired`, `revoked`,
     * `invalid` or `malformed-header` (router/src/auth/accessTokens.ts). Its `WWW-Authenticate`
     * header says `invalid_token` for the first three alike, so this is what tells a token that
     * a refresh can replace apart.
     */
    readonly reason: string | null = null,
  ) {
    super(message);
  }
}

/**
 * The refresh in flight, shared: a refresh token works once, and the server takes a second use
 * of one for theft and revokes the whole session, so two requests that find their access token
 * expired must not each refresh.
 */
let renewing: Promise<Session> | null = null;

/**
 * The router's GraphQL endpoint. By default /graphql on the page's own origin, which Vite's dev
 * server proxies to the router. `VITE_GRAPHQL_URL=http://localhost:4000/graphql` (empty means the
 * default) makes the page call the router there directly, cross-origin: the router's CORS_ORIGINS
 * must then list the page's origin, or the browser refuses the page the answers.
 */
const GRAPHQL_URL = import.meta.env.VITE_GRAPHQL_URL || '/graphql';

/**
 * Runs one of the app's operations through the router, as the logged-in user if there is one.
 *
 * When the router refuses the access token because it expired, trades the refresh token for a
 * new pair (one refresh, shared by every request that needs it) and retries the request once
 * with the new access token. The caller sees only the retry's outcome. When the refresh is
 * refused the session is over: it is cleared and the UNAUTHENTICATED error is passed on.
 *
 * Resolves with `data` when there are no errors; otherwise rejects with an {@link ApiError}
 * carrying the first error's code.
 */
export async function request<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  // A refresh is on its way: wait for its token rather than send one known to be expired.
  if (renewing) await renewing.catch(() => undefined);
  const session = loadSession();
  try {
    return await send(document, variables, { token: session?.token });
  } catch (error) {
    if (session === null || !isExpiredToken(error)) throw error;
    const renewed = await renewSession(session.token);
    // Once only: a second refusal ends the session like any other (main.ts, `fail`).
    return send(document, variables, { token: renewed.token });
  }
}

/** How long the page waits before its one retry: long enough for a database that paused. */
const RETRY_DELAY_MS = 1_000;

/**
 * {@link request} for an operation the server deduplicates (`createOrder` with an
 * `idempotencyKey`): on SERVICE_UNAVAILABLE, waits a moment and sends it once more, with the
 * same variables. That answer does not mean nothing happened: the database may have stored the
 * order before it stopped answering, so only an operation that is safe to repeat gets this.
 */
export async function requestRetryingOnce<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  try {
    return await request(document, variables);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'SERVICE_UNAVAILABLE') throw error;
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
    return request(document, variables);
  }
}

/**
 * Logs out: forgets the session in this tab and revokes it on the server, so that its refresh
 * token is worthless to anyone who copied it. Best effort: the session is gone from this tab
 * whatever the server answers, or if it cannot be reached.
 */
export async function logOut(): Promise<void> {
  // Let a refresh in flight land first, so that the token revoked is the newest one.
  if (renewing) await renewing.catch(() => undefined);
  const session = loadSession();
  clearSession();
  if (session === null) return;
  try {
    // keepalive: the request outlives the page, should the tab be closed right after the click.
    await send(LogoutDocument, { refreshToken: session.refreshToken }, { keepalive: true });
  } catch (error) {
    // Nothing more to do: the refresh token is forgotten here, and expires on its own.
    if (!(error instanceof ApiError)) throw error;
  }
}

/** A session whose access token is newer than `expiredToken`, refreshing only if need be. */
function renewSession(expiredToken: string): Promise<Session> {
  const current = loadSession();
  // Another request refreshed while this one was on its way: retry with that token. Sending the
  // refresh token it spent would be a reuse.
  if (current !== null && current.token !== expiredToken) return Promise.resolve(current);
  renewing ??= refresh(current).finally(() => {
    renewing = null;
  });
  return renewing;
}

async function refresh(session: Session | null): Promise<Session> {
  if (session === null) throw new ApiError('UNAUTHENTICATED', 'Not logged in.', null);
  let renewed: Session;
  try {
    // No Authorization header: the access token is expired, and the router would refuse it.
    const { refreshToken } = await send(RefreshTokenDocument, { token: session.refreshToken });
    renewed = sessionFrom(refreshToken);
  } catch (error) {
    // Refused: the refresh token expired, was revoked (a logout elsewhere, a new password) or
    // was used already. Anything else (no answer, a server that is down) says nothing about the
    // token, so the session stays and the next request tries again; if this refresh did reach
    // the server, that attempt is a reuse and is refused, which ends the session then.
    if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') clearSession();
    throw error;
  }
  // The session ended while the refresh was on its way: do not bring it back.
  if (loadSession()?.refreshToken !== session.refreshToken) {
    throw new ApiError('UNAUTHENTICATED', 'Not logged in.', null);
  }
  saveSession(renewed);
  return renewed;
}

/**
 * A token that a refresh may replace: expired, or revoked (a new role revokes access tokens but
 * not the session; after a logout elsewhere, the refresh is refused too and the session ends).
 */
function isExpiredToken(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    error.status === 401 &&
    (error.reason === 'expired' || error.reason === 'revoked')
  );
}

/**
 * Sends one operation, with `token` as the Bearer token if given. Only the document's hash is
 * sent (the "trusted documents" protocol, Apollo's persisted-query extension): the router looks
 * the text up in the manifest graphql-codegen wrote, and in enforce mode refuses anything not in
 * it, so this page cannot be used to send arbitrary queries with a user's token.
 */
async function send<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  { token, keepalive = false }: { token?: string | undefined; keepalive?: boolean } = {},
): Promise<TResult> {
  let response: Response;
  try {
    response = await fetch(GRAPHQL_URL, {
      method: 'POST',
      keepalive,
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({
        operationName: operationName(document),
        variables,
        extensions: { persistedQuery: { version: 1, sha256Hash: persistedHash(document) } },
      }),
    });
  } catch {
    // fetch rejects only when no response arrived at all: offline, DNS, connection refused.
    throw new ApiError('NETWORK_ERROR', 'Cannot reach the server.', null);
  }

  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }

  if (!isRecord(body)) {
    // Not GraphQL at all. A proxy in front of a router that is down answers 502/503/504, and
    // Vite's dev proxy answers a bare 500: to a person all of these mean the server is away.
    if (response.status === 401) {
      throw new ApiError('UNAUTHENTICATED', 'Not logged in.', response.status);
    }
    if (response.status >= 500) {
      throw new ApiError('NETWORK_ERROR', 'Cannot reach the server.', response.status);
    }
    throw new ApiError('BAD_RESPONSE', `Unexpected HTTP ${response.status}.`, response.status);
  }

  const errors: unknown[] = Array.isArray(body['errors']) ? body['errors'] : [];
  const [error] = errors;
  if (error !== undefined || !response.ok) {
    const message =
      isRecord(error) && typeof error['message'] === 'string'
        ? error['message']
        : `HTTP ${response.status}`;
    const extensions = isRecord(error) && isRecord(error['extensions']) ? error['extensions'] : {};
    // A 401 is the router refusing the token itself, whatever code the body carries.
    const code = response.status === 401 ? 'UNAUTHENTICATED' : toErrorCode(extensions['code']);
    const reason = typeof extensions['reason'] === 'string' ? extensions['reason'] : null;
    throw new ApiError(code, message, response.status, reason);
  }

  const data = body['data'];
  if (!isResultOf(document, data)) {
    throw new ApiError('BAD_RESPONSE', 'The response had no data.', response.status);
  }
  return data;
}

/**
 * The hash graphql-codegen's client preset puts on every document it generates
 * (`persistedDocuments` in codegen.ts), without its `sha256:` prefix, as the
 * persisted-query extension expects.
 */
function persistedHash(document: DocumentNode): string {
  const meta = '__meta__' in document ? document.__meta__ : undefined;
  const hash = isRecord(meta) ? meta['hash'] : undefined;
  if (typeof hash !== 'string') {
    // A document written by hand, not through graphql() and codegen: the router would refuse it.
    throw new Error('This document has no persisted hash; run `npm run codegen`.');
  }
  return hash.replace(/^sha256:/, '');
}

function operationName(document: DocumentNode): string | undefined {
  for (const definition of document.definitions) {
    if ('operation' in definition) return definition.name?.value;
  }
  return undefined;
}

/**
 * `data` is what the router produced for this very document, validated against the schema the
 * document's types were generated from, so an object is all there is left to check here.
 */
function isResultOf<TResult, TVariables>(
  _document: TypedDocumentNode<TResult, TVariables>,
  data: unknown,
): data is TResult {
  return isRecord(data);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A server code the page handles, or UNKNOWN for the rest (INTERNAL_SERVER_ERROR and co.). */
function toErrorCode(code: unknown): ErrorCode {
  switch (code) {
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
    case 'BAD_USER_INPUT':
    case 'PERSISTED_QUERY_NOT_FOUND':
    case 'PERSISTED_QUERY_NOT_IN_LIST':
    case 'LOGIN_THROTTLED':
    case 'IDEMPOTENCY_KEY_REUSED':
    case 'SERVICE_UNAVAILABLE':
      return code;
    default:
      return 'UNKNOWN';
  }
}
