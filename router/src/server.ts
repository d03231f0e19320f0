import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { GraphQLError, OperationTypeNode, type GraphQLSchema } from 'graphql';
import { REVOCATIONS_PATH } from '@supergraph/identity';
import {
  createFormatError,
  createGraphQLRequestListener,
  createMetricsRegistry,
  createTracingPlugin,
  ErrorCode,
  type Logger,
  type ReadinessCheck,
  type Registry,
  setRequestUserId,
  traceRequests,
} from '@supergraph/service-kit';
import { createAccessTokenVerifier } from './auth/accessTokens.js';
import { createRevocationCheck } from './auth/revocations.js';
import { AuthorizingGateway } from './authorization/AuthorizingGateway.js';
import type { RouterConfig } from './config.js';
import type { RouterContext } from './context.js';
import { createCorsHook } from './cors.js';
import { clientIpOf } from './identity/clientIp.js';
import { SignedIdentityDataSource } from './identity/SignedIdentityDataSource.js';
import { createRouterMetrics } from './metrics.js';
import { checkOperationLimits } from './operations/limits.js';
import { operationsOf } from './operations/requestOperations.js';
import { loadTrustedDocuments } from './operations/trustedDocuments.js';
import { loadSupergraph } from './supergraph.js';

export interface RouterOptions {
  config: Omit<RouterConfig, 'logLevel' | 'host' | 'port'>;
  logger: Logger;
  /** Where the router's metrics go; a registry of its own (see `Router.registry`) without one. */
  registry?: Registry;
}

export interface Router {
  readonly listener: ReturnType<typeof createGraphQLRequestListener<RouterContext>>;
  /** For `/health/ready`: the supergraph is loaded, and the keys and revocation list are held. */
  readonly readiness: ReadinessCheck;
  /** The router's Prometheus metrics, for `serveMetrics` on METRICS_PORT. */
  readonly registry: Registry;
  stop(): Promise<void>;
}

/** How many validation errors a client gets at most, plus one saying that validation stopped. */
const MAX_VALIDATION_ERRORS = 5;

/** What Sandbox opens with in development: the first thing anyone does here is log in. */
const SANDBOX_DOCUMENT = `# 1. Run Login (as "user"; the admin is admin / a), and copy accessToken.
# 2. Open Headers below, add  Authorization: Bearer <accessToken>
# 3. Run MyOrders, or CreateOrder and then MyOrders again.
# 4. After 15 minutes the access token expires: paste refreshToken into Refresh and run it.
mutation Login {
  login(username: "user", password: "u") {
    accessToken
    expiresIn
    refreshToken
    user { id username role }
  }
}

mutation Refresh {
  refreshToken(token: "<refreshToken>") { accessToken refreshToken }
}

query MyOrders {
  me {
    username
    orders(first: 10) {
      edges { node { id item address createdAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
}

mutation CreateOrder {
  createOrder(input: { item: "Coffee beans", address: "1 Main St" }) { id item createdAt }
}
`;

/**
 * The graph has no subscriptions, and graphql-js would fail one at execution with an internal
 * error (HTTP 500). It is the client's mistake, said as such before anything runs.
 */
const refuseSubscriptions: ApolloServerPlugin<RouterContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation !== OperationTypeNode.SUBSCRIPTION) return;
        throw new GraphQLError(
          'This graph serves queries and mutations only: subscriptions are not supported.',
          { extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } } },
        );
      },
    };
  },
};

/**
 * Builds the router without listening: the gateway over the static supergraph, token
 * verification, and the data sources that sign the caller's identity onto subgraph requests.
 */
export async function createRouter({
  config,
  logger,
  registry = createMetricsRegistry(),
}: RouterOptions): Promise<Router> {
  const supergraph = loadSupergraph(config.supergraphPath);
  logger.debug('supergraph loaded', {
    securityFeatures: supergraph.securityFeatures.map((f) => f.url),
  });
  if (config.authorization.dryRun) {
    logger.warn(
      'AUTHORIZATION_DRY_RUN is on: the router takes nothing out of operations and only reports what it would; the subgraphs still enforce their own checks',
    );
  }

  const trustedDocuments = loadTrustedDocuments(
    config.persistedDocuments.mode,
    config.persistedDocuments.path,
  );
  logger.info('trusted documents', {
    mode: trustedDocuments.mode,
    documents: trustedDocuments.size,
  });
  const metrics = createRouterMetrics(registry, trustedDocuments.operations);

  // The gateway decides in its constructor, from this variable alone, whether to start its
  // "data collection" meter provider: cloud metadata probes (169.254.169.254, 100.100.100.200,
  // Google's metadata host) at start and an hourly export to Apollo. Set here, on the one path
  // every way of starting the router takes, so that none of them can forget it.
  process.env['APOLLO_TELEMETRY_DISABLED'] = config.apolloTelemetry ? 'false' : 'true';
  const dataSources: SignedIdentityDataSource[] = [];
  const gateway = new ApolloGateway({
    supergraphSdl: supergraph.sdl,
    // The `apollo-query-plan-experimental` header returns the query plan, which maps the
    // subgraphs. The gateway decides from process.env.NODE_ENV; the router's config decides here.
    __exposeQueryPlanExperimental: !config.production,
    logger,
    buildService: ({ name, url }) => {
      const dataSource = new SignedIdentityDataSource({
        name,
        url: config.subgraphUrls[name] ?? url ?? '',
        secret: config.identity.secret,
        timeoutMs: config.subgraphTimeoutMs,
        maxConnections: config.subgraphMaxConnections,
        deduplicateQueries: config.deduplicateSubgraphQueries,
        logger,
        metrics: metrics.subgraphFetches,
      });
      dataSources.push(dataSource);
      return dataSource;
    },
  });

  // The API schema, for the cost estimate of the request limits.
  let apiSchema: GraphQLSchema | undefined;
  gateway.onSchemaLoadOrUpdate((schema) => {
    apiSchema = schema.apiSchema;
  });

  const apollo = new ApolloServer<RouterContext>({
    gateway: new AuthorizingGateway(
      gateway,
      supergraph.accessRequirements,
      logger,
      config.authorization,
    ),
    logger,
    introspection: config.introspection,
    // Operations can be sent by hash from the trusted documents manifest. Never APQ: its cache
    // is read-only, so no client can register an operation of its own.
    persistedQueries: trustedDocuments.mode === 'off' ? false : { cache: trustedDocuments.cache },
    // No "Did you mean …" hints that map the schema for an attacker in production.
    hideSchemaDetailsFromClientErrors: config.production,
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError(logger, { hideSuggestions: config.production }),
    allowBatchedHttpRequests: false,
    // Apollo Server's default, said out loud because the attack suite depends on it: a GET cannot
    // run a mutation, and a POST needs a content type or header that forces a CORS preflight.
    csrfPrevention: true,
    // graphql-js stops validating after this many errors. Without a cap, a document with many
    // broken parts (graphql-cop's ten unknown directives) is answered with one error each:
    // work and response size that grow with whatever the client sends.
    validationOptions: { maxErrors: MAX_VALIDATION_ERRORS },
    // The process's shutdown is runService's (service-kit lifecycle.ts): Apollo Server's own
    // handlers would stop it and re-raise the signal before in-flight requests finish.
    stopOnTerminationSignals: false,
    plugins: [
      createTracingPlugin<RouterContext>(),
      metrics.plugin,
      refuseSubscriptions,
      config.sandbox
        ? ApolloServerPluginLandingPageLocalDefault({
            embed: { runTelemetry: config.apolloTelemetry },
            footer: false,
            includeCookies: false,
            document: SANDBOX_DOCUMENT,
          })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  const usersUrl = config.subgraphUrls['users'] ?? supergraph.subgraphUrls['users'];
  const revocationsUrl =
    config.revocations.url === undefined && usersUrl
      ? new URL(REVOCATIONS_PATH, usersUrl).href
      : config.revocations.url;
  const isRevoked = revocationsUrl
    ? createRevocationCheck({
        url: revocationsUrl,
        secret: config.identity.secret,
        refreshMs: config.revocations.refreshMs,
        timeoutMs: config.subgraphTimeoutMs,
        logger,
      })
    : undefined;
  if (isRevoked) metrics.revocationListAge(() => isRevoked.ageSeconds());
  const verifyAuthorization = createAccessTokenVerifier({
    jwt: config.jwt,
    isRevoked,
    logger,
    onRefused: metrics.tokenRefusals,
  });

  const graphqlListener = createGraphQLRequestListener<RouterContext>({
    apollo,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    onRequest: createCorsHook(config.cors),
    trustRequestId: config.trustRequestId,
    context: metrics.countRefusals(async (request, parsedBody) => {
      // Cheap refusals first, before the token is verified or Apollo Server parses anything.
      const operations = operationsOf(request, parsedBody());
      // A GET without an operation is a browser opening the landing page: not a request to count.
      metrics.noteOperation(operations[0], request.method === 'GET' && operations.length === 0);
      trustedDocuments.check(operations);
      checkOperationLimits(config.limits, operations, apiSchema);
      const identity = await verifyAuthorization(request.headers.get('authorization'));
      // For the request's access log line: who, never with what token.
      setRequestUserId(identity?.id);
      return { identity, clientIp: clientIpOf(request, config.trustedProxyHops) };
    }),
  });
  // Counts every request, the ones refused before Apollo Server runs (413, 401, limits) too.
  // Outermost, so that everything the request does, its refusals too, is in its span.
  const listener = traceRequests(metrics.instrument(graphqlListener), {
    service: 'router',
    continueIncomingTrace: config.trustIncomingTraceparent,
  });

  // Fetched now, so that the router is ready, and its first callers quick, as soon as it can be.
  void verifyAuthorization.ready();

  return {
    listener,
    readiness: async () => {
      const checks = {
        supergraph: apiSchema ? (true as const) : 'the supergraph is not loaded',
        ...(await verifyAuthorization.ready()),
      };
      return { ready: Object.values(checks).every((check) => check === true), checks };
    },
    registry,
    stop: async () => {
      await apollo.stop();
      await Promise.all(dataSources.map((dataSource) => dataSource.close()));
    },
  };
}
