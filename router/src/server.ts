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
const SANDBOX_DOCUMENT = `# Run this, copy accessToken, then add a header:
#   Authorization: Bearer <accessToken>
mutation Login {
  login(username: "user", password: "u") {
    accessToken
    expiresIn
    user { id username role }
  }
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
    introspection: !config.production,
    // No "Did you mean …" hints that map the schema for an attacker in production.
    hideSchemaDetailsFromClientErrors: config.production,
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError(logger),
    allowBatchedHttpRequests: false,
    plugins: [
      config.production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({
            embed: true,
            footer: false,
            includeCookies: false,
            document: SANDBOX_DOCUMENT,
          }),
    ],
  });
  await apollo.start();

  const verifyAuthorization = createAccessTokenVerifier({ jwt: config.jwt, logger });

  const listener = createGraphQLRequestListener<RouterContext>({
    apollo,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    context: async (request) => ({
      identity: await verifyAuthorization(request.headers.get('authorization')),
    }),
    routes: {
      '/health': () => ({
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: '{"status":"ok"}',
      }),
    },
  });

  return { listener, stop: () => apollo.stop() };
}
