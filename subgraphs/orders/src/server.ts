import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import type { Db } from 'mongodb';
import { createGraphQLRequestListener, type Logger } from '@supergraph/service-kit';
import {
  applyAuthorization,
  createIdentityGate,
  createSubgraphApolloServer,
} from '@supergraph/subgraph-kit';
import type { OrdersConfig } from './config.js';
import type { OrdersContext } from './context.js';
import { createOrderRepository, type OrderRepository } from './db/orders.js';
import { createOrdersLoaders } from './loaders.js';
import { policies } from './policies.js';
import { resolvers } from './resolvers/index.js';

export const typeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface OrdersSubgraphOptions {
  config: Pick<OrdersConfig, 'identity' | 'maxBodyBytes'>;
  db: Db;
  logger: Logger;
}

export interface OrdersSubgraph {
  readonly listener: ReturnType<typeof createGraphQLRequestListener<OrdersContext>>;
  readonly repository: OrderRepository;
  /** Stops Apollo Server. The caller owns the HTTP server and the MongoClient. */
  stop(): Promise<void>;
}

/**
 * Builds the orders subgraph without listening: schema, authorization, Apollo Server and the
 * HTTP listener. It creates the indexes it relies on, which is idempotent.
 */
export async function createOrdersSubgraph({
  config,
  db,
  logger,
}: OrdersSubgraphOptions): Promise<OrdersSubgraph> {
  const repository = createOrderRepository(db);
  await repository.ensureIndexes();

  const schema = applyAuthorization(buildSubgraphSchema([{ typeDefs, resolvers }]), { policies });
  const apollo = createSubgraphApolloServer<OrdersContext>(schema, logger);
  await apollo.start();
  const gate = createIdentityGate({ audience: 'orders', ...config.identity, logger });

  const listener = createGraphQLRequestListener<OrdersContext>({
    apollo,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    context: async (request) => ({
      identity: gate(request),
      viewerFor: new WeakMap(),
      orders: repository,
      loaders: createOrdersLoaders(repository),
    }),
    routes: {
      '/health': () => ({
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: '{"status":"ok"}',
      }),
    },
  });

  return { listener, repository, stop: () => apollo.stop() };
}
