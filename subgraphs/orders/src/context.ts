import type DataLoader from 'dataloader';
import type { AuthorizationContext } from '@supergraph/subgraph-kit';
import type { OrderRecord, OrderRepository } from './db/orders.js';
import type { OrdersPageKey } from './loaders.js';

/** The per-request context of the orders subgraph. */
export interface OrdersContext extends AuthorizationContext {
  readonly orders: OrderRepository;
  readonly loaders: {
    readonly orderById: DataLoader<string, OrderRecord | null>;
    /** `User.orders` for many users at once: one query per distinct page shape. */
    readonly ordersByUser: DataLoader<OrdersPageKey, OrderRecord[], string>;
  };
}
