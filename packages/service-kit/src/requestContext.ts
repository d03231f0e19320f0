import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * The header that carries a request's id: the router returns it to the client and sends it on
 * every subgraph request, so that one id finds every log line of one request in every service.
 */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * What an id may look like: short, and nothing a log reader or a log shipper could mistake for
 * structure (no spaces, quotes, newlines or commas). A UUID fits, and so do most proxies' ids.
 */
const REQUEST_ID_FORMAT = /^[A-Za-z0-9._-]{1,64}$/;

/** What the log knows about the request being handled. */
export interface RequestContext {
  readonly requestId: string;
  /** The caller, once established (the router's token check, a subgraph's signature check). */
  userId?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Whether `value` is an acceptable request id: 1 to 64 of `A-Z a-z 0-9 . _ -`. */
export function isRequestId(value: unknown): value is string {
  return typeof value === 'string' && REQUEST_ID_FORMAT.test(value);
}

/**
 * The id of an incoming request: the `x-request-id` it carries when `trust` says its sender may
 * choose one, it came exactly once and it has the right format; a new UUID otherwise. A client
 * that may not choose cannot make its requests look like someone else's in the log.
 */
export function requestIdOf(
  header: string | readonly string[] | undefined,
  trust: boolean,
): string {
  const given = typeof header === 'string' ? header : header?.length === 1 ? header[0] : undefined;
  return trust && isRequestId(given) ? given : randomUUID();
}

/**
 * Runs `fn` as the handling of request `requestId`: every log line written from it, however
 * deep in its promises, carries the id (see logger.ts).
 */
export function withRequestContext<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn);
}

/** The request being handled here, or undefined outside of any request. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Records who the caller of the current request is, for its access log line. */
export function setRequestUserId(userId: string | undefined): void {
  const context = storage.getStore();
  if (context && userId !== undefined) context.userId = userId;
}
