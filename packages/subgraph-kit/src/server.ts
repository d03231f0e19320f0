import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import {
  createFormatError,
  createGraphQLRequestListener,
  createTracingPlugin,
  describeError,
  isDatabaseUnavailable,
  type Logger,
  type RawRequest,
  type RouteHandler,
  traceRequests,
} from '@supergraph/service-kit';
import { applyAuthorization, type AuthorizationContext, type Policy } from './authorization.js';
import { createIdentityGate, type VerifiedRequest } from './gate.js';
import type { RequestIdStore } from './requestIds.js';

/** How often each replica deletes expired request ids (each replica does; deleting twice is harmless). */
const SWEEP_INTERVAL_MS = 10_000;

export interface SubgraphServerOptions<TContext extends AuthorizationContext> {
  /** The subgraph's name in supergraph.yaml; the router signs it as the audience. */
  name: string;
  /** The schema from `buildSubgraphSchema`, before authorization is applied. */
  schema: GraphQLSchema;
  /** What each `@policy` name in the SDL means. */
  policies: Readonly<Record<string, Policy>>;
  identity: { secret: string; maxSkewSeconds: number };
  /**
   * The request ids already accepted (`createRequestIdStore` on this subgraph's database, its
   * indexes ensured). The server records every signed request's id in it, and sweeps it.
   */
  requestIds: RequestIdStore;
  maxBodyBytes: number;
  logger: Logger;
  /**
   * The rest of the per-request context, given the verified caller. Create DataLoaders here.
   * `verified` is what the router's signature vouches for, the caller's address included.
   */
  context: (base: AuthorizationContext, request: RawRequest, verified: VerifiedRequest) => TContext;
  routes?: Readonly<Record<string, RouteHandler>>;
}

export interface SubgraphServer {
  /** A Node request listener: hand it to `listen` (or `http.createServer`). */
  readonly listener: ReturnType<typeof createGraphQLRequestListener>;
  /** Stops the sweep and Apollo Server. The caller owns the HTTP server and the MongoClient. */
  stop(): Promise<void>;
}

/**
 * What every subgraph is, around its own schema and context: SDL authorization applied to every
 * resolver, Apollo Server, and an HTTP listener whose first step is the router-signature gate.
 *
 * Only the router talks to a subgraph, so there is no landing page, and inline tracing is off:
 * otherwise anyone who can reach the subgraph could ask for `ftv1` traces with a header.
 */
export async function createSubgraphServer<TContext extends AuthorizationContext>(
  options: SubgraphServerOptions<TContext>,
): Promise<SubgraphServer> {
  const { logger } = options;
  const apollo = new ApolloServer<TContext>({
    schema: applyAuthorization(options.schema, { policies: options.policies }),
    logger,
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginLandingPageDisabled(),
      // One span per operation, in the router's trace (see `traceRequests` below).
      createTracingPlugin<TContext>({ subgraph: options.name }),
    ],
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError(logger),
    // Subgraphs only see the router's requests; the router refuses batches itself.
    allowBatchedHttpRequests: false,
    // The process's shutdown is runService's (service-kit lifecycle.ts): Apollo Server's own
    // handlers would stop it and re-raise the signal before in-flight requests finish.
    stopOnTerminationSignals: false,
  });
  await apollo.start();

  const gate = createIdentityGate({
    audience: options.name,
    ...options.identity,
    requestIds: options.requestIds,
    logger,
  });
  let sweeping: Promise<void> | undefined;
  const sweep = setInterval(() => {
    sweeping ??= options.requestIds
      .sweep()
      .then(
        (deleted) => {
          if (deleted > 0) logger.debug('deleted expired request ids', { deleted });
        },
        (error: unknown) => {
          // The next sweep tries again; an id kept too long costs space, not correctness.
          if (isDatabaseUnavailable(error)) {
            logger.warn('could not delete expired request ids: database unavailable');
          } else logger.error('could not delete expired request ids', describeError(error));
        },
      )
      .finally(() => {
        sweeping = undefined;
      });
  }, SWEEP_INTERVAL_MS);
  // The sweep alone must not keep a process alive (tests, a shutdown that forgot to stop it).
  sweep.unref();
  const listener = createGraphQLRequestListener<TContext>({
    apollo,
    logger,
    maxBodyBytes: options.maxBodyBytes,
    // The router's id for the request, so that one id finds its lines here and in the router.
    trustRequestId: true,
    context: async (request) => {
      const verified = await gate(request);
      return options.context(
        { identity: verified.identity, viewerFor: new WeakMap() },
        request,
        verified,
      );
    },
    routes: options.routes ?? {},
  });
  return {
    // The router's traceparent is continued: the subgraph's spans go under its fetch.
    listener: traceRequests(listener, { service: options.name, continueIncomingTrace: true }),
    async stop() {
      clearInterval(sweep);
      // Before the caller closes the MongoClient under it.
      await sweeping;
      await apollo.stop();
    },
  };
}
