import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import { IDENTITY_HEADERS, signRequest } from '@supergraph/identity';
import type { Logger } from '@supergraph/service-kit';
import type { RouterContext } from '../context.js';

export interface SignedIdentityDataSourceOptions {
  /** The subgraph's name in the supergraph (`users`); it is signed as the audience. */
  name: string;
  url: string;
  secret: string;
  timeoutMs: number;
  logger: Logger;
}

/**
 * How the router talks to a subgraph. This is where the caller's identity leaves the router:
 *
 * 1. `willSendRequest` removes any identity headers and sets `x-user-id` and `x-user-role` only
 *    for an authenticated caller, so an anonymous request carries neither (never "undefined").
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

  constructor(options: SignedIdentityDataSourceOptions) {
    super({ url: options.url, fetcher: createSigningFetcher(options) });
    this.subgraphName = options.name;
    this.logger = options.logger;
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<RouterContext>): void {
    const headers = options.request.http?.headers;
    if (!headers) return;
    for (const name of Object.values(IDENTITY_HEADERS)) headers.delete(name);
    // Only an incoming operation carries the caller's context; health checks and schema loads
    // go out as the router itself, which is to say anonymous.
    if (options.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) return;
    const identity = options.context.identity;
    if (!identity) return;
    headers.set(IDENTITY_HEADERS.userId, identity.id);
    headers.set(IDENTITY_HEADERS.role, identity.role);
  }

  /**
   * A non-2xx answer from a subgraph (a 401 means the router's secret is wrong) is the
   * operator's problem. Its details, URL included, go to the log; the client gets a masked error.
   */
  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    const body = await response.text().catch(() => '');
    this.logger.error('subgraph answered with an HTTP error', {
      subgraph: this.subgraphName,
      status: response.status,
      body: body.slice(0, 500),
    });
    return new GraphQLError(`Subgraph "${this.subgraphName}" answered HTTP ${response.status}.`, {
      extensions: { code: 'SUBGRAPH_HTTP_ERROR' },
    });
  }
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
        body,
      }),
    );
    return fetch(url, {
      method: init.method ?? 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  };
}
