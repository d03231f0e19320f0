import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, HttpError } from '@supergraph/service-kit';

/**
 * CORS (the Fetch standard's "CORS protocol"): which pages on other origins a browser lets call
 * the router and read its answers. It protects the pages' users, not the router: a browser
 * enforces it, and anything else (curl, a server) ignores it. The router's own defences against
 * cross-site requests are Apollo Server's CSRF prevention and the Bearer token, which a browser
 * never attaches on its own; CORS only decides which other origins may use them from a page.
 */
export interface CorsPolicy {
  /** Exact origins (`scheme://host[:port]`) whose pages may call the router. Empty: none. */
  readonly origins: readonly string[];
  /**
   * Whether those pages may send cookies and HTTP authentication along
   * (`Access-Control-Allow-Credentials`). The router reads neither: the clients send a Bearer
   * token, which needs no credentials mode.
   */
  readonly allowCredentials: boolean;
}

/**
 * The request headers a page may send. `content-type` and `authorization` are what every client
 * sends, `accept` too (the example web app's; safelisted anyway, but not with every value), and
 * `apollo-require-preflight` and `x-apollo-operation-name` are what lets a request with no JSON
 * body (a GET query, a file upload) past Apollo Server's CSRF prevention.
 */
export const CORS_ALLOWED_HEADERS = [
  'content-type',
  'authorization',
  'accept',
  'apollo-require-preflight',
  'x-apollo-operation-name',
] as const;

/** The router serves GraphQL over GET (queries) and POST. */
const ALLOWED_METHODS = 'GET, POST';

/**
 * How long a browser may reuse a preflight's answer. Short, so that an origin taken off the list
 * loses access within minutes; Chromium caps it at two hours whatever the server says.
 */
export const CORS_MAX_AGE_SECONDS = 600;

/** What the router does with a request, as far as CORS goes. */
export type CorsDecision =
  /** A preflight from a listed origin: answer 204 with `headers`, and nothing else. */
  | { readonly kind: 'preflight'; readonly headers: Readonly<Record<string, string>> }
  /** A preflight from any other origin: refuse it, with `headers` (no CORS permission). */
  | { readonly kind: 'refused'; readonly headers: Readonly<Record<string, string>> }
  /** Any other request: serve it as usual, adding `headers` to whatever the answer is. */
  | { readonly kind: 'request'; readonly headers: Readonly<Record<string, string>> };

/**
 * Decides what CORS asks of the router for one request (method and headers): the response
 * headers, and whether the request is a preflight to answer here.
 */
export function decideCors(
  policy: CorsPolicy,
  method: string,
  headers: IncomingHttpHeaders,
): CorsDecision {
  const origin = single(headers.origin);
  // A preflight is an OPTIONS with an Origin and the method the page wants to use.
  const isPreflight =
    method.toUpperCase() === 'OPTIONS' &&
    origin !== undefined &&
    single(headers['access-control-request-method']) !== undefined;
  // Exact comparison: the Origin header is serialized by the browser, and the configuration
  // only takes origins in that form (config.ts), so no normalization can be fooled here.
  const allowed = origin !== undefined && policy.origins.includes(origin);
  // Whenever the answer depends on Origin it says so, allowed or not, so that no cache serves
  // one origin's answer to another; with no list it depends on nothing.
  const vary: Record<string, string> = policy.origins.length > 0 ? { vary: 'Origin' } : {};
  if (!allowed) return { kind: isPreflight ? 'refused' : 'request', headers: vary };

  const permission: Record<string, string> = {
    ...vary,
    'access-control-allow-origin': origin,
    ...(policy.allowCredentials ? { 'access-control-allow-credentials': 'true' } : {}),
  };
  if (!isPreflight) return { kind: 'request', headers: permission };
  return {
    kind: 'preflight',
    headers: {
      ...permission,
      'access-control-allow-methods': ALLOWED_METHODS,
      'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(', '),
      'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
    },
  };
}

/**
 * The router's CORS, as a `createGraphQLRequestListener` `onRequest` hook: sets the CORS headers
 * on every answer (errors included, so that a page can read why it got a 401), answers a
 * listed origin's preflight with 204 itself, and refuses any other preflight with 403, where
 * Apollo Server would answer 400 with its CSRF message.
 */
export function createCorsHook(
  policy: CorsPolicy,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const decision = decideCors(policy, req.method ?? 'GET', req.headers);
    for (const [name, value] of Object.entries(decision.headers)) res.setHeader(name, value);
    switch (decision.kind) {
      case 'preflight':
        res.writeHead(204);
        res.end();
        return true;
      case 'refused':
        throw new HttpError(
          403,
          ErrorCode.FORBIDDEN,
          "Pages on this origin may not call this API: it is not in the router's CORS_ORIGINS.",
        );
      case 'request':
        return false;
    }
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
