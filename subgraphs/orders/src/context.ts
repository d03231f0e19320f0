import type DataLoader from 'dataloader';
import type { AuthorizationContext } from '@supergraph/subgraph-kit';
import type { OrderRecord, OrderRepository } from './db/orders.js';
import type { OrdersPageKey } from './loaders.js';
import type { OrderPlacement } from './placeOrder.js';

/** The per-request context of the orders subgraph. */
export interface OrdersContext extends AuthorizationContext {
  readonly orders: OrderRepository;
  /** `createOrder`, with its idempotency keys. */
  readonly placement: OrderPlacement;
  readonly loaders: {
    readonly orderById: DataLoader<string, OrderRecord | null>;
    /** `User.orders` for many users at once: one query per distinct page shape. */
    readonly ordersByUser: DataLoader<OrdersPageKey, OrderRecord[], string>;
  };
}
