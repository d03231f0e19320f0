import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import type { Db } from 'mongodb';
import type { Logger } from '@supergraph/service-kit';
import {
  createRequestIdStore,
  createSubgraphServer,
  type SubgraphServer,
} from '@supergraph/subgraph-kit';
import type { OrdersConfig } from './config.js';
import type { OrdersContext } from './context.js';
import { createIdempotencyKeyRepository } from './db/idempotencyKeys.js';
import { createOrderRepository, type OrderRepository } from './db/orders.js';
import { createOrdersLoaders } from './loaders.js';
import { createOrderPlacement, type OrderPlacement } from './placeOrder.js';
import { policies } from './policies.js';
import { resolvers } from './resolvers/index.js';

export const typeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface OrdersSubgraphOptions {
  config: Pick<OrdersConfig, 'identity' | 'maxBodyBytes' | 'mongodbTimeoutMs'>;
  db: Db;
  logger: Logger;
}

export interface OrdersSubgraph extends SubgraphServer {
  readonly repository: OrderRepository;
  readonly placement: OrderPlacement;
}

/**
 * Builds the orders subgraph without listening. It creates the indexes it relies on, which is
 * idempotent.
 */
export async function createOrdersSubgraph({
  config,
  db,
  logger,
}: OrdersSubgraphOptions): Promise<OrdersSubgraph> {
  const bounds = { maxTimeMS: config.mongodbTimeoutMs };
  const repository = createOrderRepository(db, bounds);
  const idempotencyKeys = createIdempotencyKeyRepository(db, bounds);
  const requestIds = createRequestIdStore(db, {
    maxSkewSeconds: config.identity.maxSkewSeconds,
    maxTimeMs: config.mongodbTimeoutMs,
  });
  await repository.ensureIndexes();
  await requestIds.ensureIndexes();
  await idempotencyKeys.ensureIndexes();
  const placement = createOrderPlacement({ orders: repository, keys: idempotencyKeys, logger });

  const server = await createSubgraphServer<OrdersContext>({
    name: 'orders',
    schema: buildSubgraphSchema([{ typeDefs, resolvers }]),
    policies,
    identity: config.identity,
    requestIds,
    maxBodyBytes: config.maxBodyBytes,
    logger,
    context: (base) => ({
      ...base,
      orders: repository,
      placement,
      loaders: createOrdersLoaders(repository),
    }),
  });
  return { ...server, repository, placement };
}
