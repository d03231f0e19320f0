import DataLoader from 'dataloader';
import { createByIdLoader } from '@supergraph/subgraph-kit';
import type { OrderPosition, OrderRecord, OrderRepository } from './db/orders.js';
import type { OrdersContext } from './context.js';

export interface OrdersPageKey {
  userId: string;
  /** How many rows to fetch: the page size plus one, to tell whether there is a next page. */
  limit: number;
  after: OrderPosition | undefined;
}

function pageShape(key: OrdersPageKey): string {
  return JSON.stringify([
    key.limit,
    key.after?.createdAt.getTime() ?? null,
    key.after?.id.toHexString() ?? null,
  ]);
}

/** Per-request loaders, so batching never mixes callers and nothing is cached across requests. */
export function createOrdersLoaders(repository: OrderRepository): OrdersContext['loaders'] {
  return {
    orderById: createByIdLoader((ids) => repository.findByIds(ids)),
    ordersByUser: new DataLoader<OrdersPageKey, OrderRecord[], string>(
      async (keys) => {
        // Users asked for with the same page shape (typically: first page, same `first`) share a query.
        const groups = new Map<string, OrdersPageKey[]>();
        for (const key of keys)
          groups.set(pageShape(key), [...(groups.get(pageShape(key)) ?? []), key]);
        const results = new Map<string, OrderRecord[]>();
        await Promise.all(
          [...groups].map(async ([shape, group]) => {
            const first = group[0]!;
            const byUser = await repository.listForUsers(
              [...new Set(group.map((k) => k.userId))],
              first.limit,
              first.after,
            );
            for (const key of group) results.set(shape + key.userId, byUser.get(key.userId) ?? []);
          }),
        );
        return keys.map((key) => results.get(pageShape(key) + key.userId) ?? []);
      },
      { cacheKeyFn: (key) => pageShape(key) + key.userId },
    ),
  };
}
