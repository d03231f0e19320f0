import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import {
  createFormatError,
  createGraphQLRequestListener,
  type Logger,
} from '@supergraph/service-kit';
import { createAccessTokenVerifier } from './auth/accessTokens.js';
import type { RouterConfig } from './config.js';
import type { RouterContext } from './context.js';
import { SignedIdentityDataSource } from './identity/SignedIdentityDataSource.js';
import { loadTrustedDocuments } from './operations/trustedDocuments.js';
import { loadSupergraph } from './supergraph.js';

export interface RouterOptions {
  config: Omit<RouterConfig, 'logLevel' | 'host' | 'port'>;
  logger: Logger;
}

export interface Router {
  readonly listener: ReturnType<typeof createGraphQLRequestListener<RouterContext>>;
  stop(): Promise<void>;
}

/** What Sandbox opens with in development: the first thing anyone does here is log in. */
const SANDBOX_DOCUMENT = `# 1. Run Login (as "user"; the admin is admin / a), and copy accessToken.
# 2. Open Headers below, add  Authorization: Bearer <accessToken>
# 3. Run MyOrders, or CreateOrder and then MyOrders again.
mutation Login {
  login(username: "user", password: "u") {
    accessToken
    expiresIn
    user { id username role }
  }
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
 * Builds the router without listening: the gateway over the static supergraph, token
 * verification, and the data sources that sign the caller's identity onto subgraph requests.
 */
export async function createRouter({ config, logger }: RouterOptions): Promise<Router> {
  const supergraph = loadSupergraph(config.supergraphPath);
  logger.debug('supergraph loaded', {
    securityFeaturesEnforcedBySubgraphs: supergraph.securityFeatures.map((f) => f.url),
  });

  const trustedDocuments = loadTrustedDocuments(
    config.persistedDocuments.mode,
    config.persistedDocuments.path,
  );
  logger.info('trusted documents', {
    mode: trustedDocuments.mode,
    documents: trustedDocuments.size,
  });

  const gateway = new ApolloGateway({
    supergraphSdl: supergraph.sdl,
    logger,
    buildService: ({ name, url }) =>
      new SignedIdentityDataSource({
        name,
        url: config.subgraphUrls[name] ?? url ?? '',
        secret: config.identity.secret,
        timeoutMs: config.subgraphTimeoutMs,
        logger,
      }),
  });

  const apollo = new ApolloServer<RouterContext>({
    gateway,
    logger,
    introspection: config.introspection,
    // Operations can be sent by hash from the trusted documents manifest. Never APQ: its cache
    // is read-only, so no client can register an operation of its own.
    persistedQueries: trustedDocuments.mode === 'off' ? false : { cache: trustedDocuments.cache },
    // No "Did you mean …" hints that map the schema for an attacker in production.
    hideSchemaDetailsFromClientErrors: config.production,
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError(logger),
    allowBatchedHttpRequests: false,
    plugins: [
      config.sandbox
        ? ApolloServerPluginLandingPageLocalDefault({
            embed: true,
            footer: false,
            includeCookies: false,
            document: SANDBOX_DOCUMENT,
          })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  const verifyAuthorization = createAccessTokenVerifier({ jwt: config.jwt, logger });

  const listener = createGraphQLRequestListener<RouterContext>({
    apollo,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    context: async (request, parsedBody) => {
      trustedDocuments.check(request, parsedBody());
      return { identity: await verifyAuthorization(request.headers.get('authorization')) };
    },
  });

  return { listener, stop: () => apollo.stop() };
}
