/**
 * One gateway of the benchmark, in a process of its own so that its CPU time and memory can be
 * read from /proc/<pid>: `node --import tsx scripts/bench/gateway.ts <kind>`, with the
 * supergraph, subgraph URLs and JWKS in the environment (scripts/bench/index.ts sets them). It
 * tells its parent its URL over IPC and stops when the IPC channel closes.
 *
 * - `router`: this repository's router, as production builds it (createRouter, loadRouterConfig).
 * - `router-no-dedupe`: the same; its environment sets DEDUPLICATE_SUBGRAPH_QUERIES=false.
 * - `stock`: Apollo Gateway of the same version on Apollo Server's standalone server, plain.
 * - `stock-jose`: the same with the token check a user would write in the context function.
 *
 * Hive Gateway runs from scripts/bench/hive.ts, type-checked apart.
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { GraphQLError } from 'graphql';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createLogger, listen } from '@supergraph/service-kit';
import { loadRouterConfig } from '../../router/src/config.js';
import { createRouter } from '../../router/src/server.js';
import type { GatewayReady } from './protocol.js';

const APOLLO_KINDS = ['router', 'router-no-dedupe', 'stock', 'stock-jose'] as const;
type ApolloKind = (typeof APOLLO_KINDS)[number];

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required (scripts/bench/index.ts sets it)`);
  return value;
}

function isKind(value: string | undefined): value is ApolloKind {
  return APOLLO_KINDS.some((kind) => kind === value);
}

interface StockContext {
  userId?: string;
}

async function startRouter(): Promise<{ url: string; stop: () => Promise<void> }> {
  const config = loadRouterConfig(process.env);
  const router = await createRouter({ config, logger: createLogger('router', config.logLevel) });
  const server = await listen(router.listener, { host: '127.0.0.1', port: 0 });
  return {
    url: server.url,
    stop: async () => {
      server.server.closeAllConnections();
      await new Promise((resolve) => server.server.close(resolve));
      await router.stop();
    },
  };
}

async function startStock(withJose: boolean): Promise<{ url: string; stop: () => Promise<void> }> {
  const supergraphSdl = readFileSync(required('SUPERGRAPH_PATH'), 'utf8');
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource<StockContext>({
        url,
        willSendRequest({ request, context }) {
          if (context.userId) request.http?.headers.set('x-user-id', context.userId);
        },
      }),
  });
  const server = new ApolloServer<StockContext>({
    gateway,
    introspection: false,
    stopOnTerminationSignals: false,
  });
  const jwks = createRemoteJWKSet(new URL(required('JWKS_URL')));
  const issuer = required('JWT_ISSUER');
  const audience = required('JWT_AUDIENCE');
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: 0 },
    context: async ({ req }) => {
      if (!withJose) return {};
      const header = req.headers.authorization;
      if (!header) return {};
      const token = /^Bearer (.+)$/.exec(header)?.[1] ?? '';
      try {
        const { payload } = await jwtVerify(token, jwks, {
          issuer,
          audience,
          algorithms: ['EdDSA'],
          requiredClaims: ['exp', 'sub'],
        });
        return payload.sub === undefined ? {} : { userId: payload.sub };
      } catch {
        throw new GraphQLError('Invalid access token', {
          extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
        });
      }
    },
  });
  return { url, stop: () => server.stop() };
}

function start(kind: ApolloKind): Promise<{ url: string; stop: () => Promise<void> }> {
  if (kind === 'router' || kind === 'router-no-dedupe') return startRouter();
  return startStock(kind === 'stock-jose');
}

const kind = process.argv[2];
if (!isKind(kind)) throw new Error(`usage: gateway.ts <${APOLLO_KINDS.join('|')}>`);
const running = await start(kind);
const ready: GatewayReady = { url: running.url };
process.send?.(ready);
process.on('disconnect', () => {
  void running.stop().then(() => process.exit(0));
});
