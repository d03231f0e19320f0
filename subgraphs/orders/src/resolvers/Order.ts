import { referenceId } from '@supergraph/subgraph-kit';
import type { OrderResolvers } from '../generated/graphql.js';

export const Order: OrderResolvers = {
  // Batched through the per-request loader; `type Order @policy` is checked on the result.
  __resolveReference: async (reference, { loaders }) =>
    loaders.orderById.load(referenceId(reference)),
  id: (order) => order._id.toHexString(),
  // A reference that the router resolves in the users subgraph.
  user: (order) => ({ id: order.userId }),
};
