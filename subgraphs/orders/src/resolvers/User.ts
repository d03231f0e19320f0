import { pageSize, referenceId, toConnection } from '@supergraph/subgraph-kit';
import type { UserResolvers } from '../generated/graphql.js';
import { orderCursor, orderPosition } from './cursor.js';

export const User: UserResolvers = {
  // The orders subgraph stores no users: a reference is just its key.
  __resolveReference: async (reference) => ({ id: referenceId(reference) }),
  orders: async (user, { first, after }, { loaders }) => {
    const size = pageSize(first);
    const rows = await loaders.ordersByUser.load({
      userId: user.id,
      limit: size + 1,
      after: orderPosition(after),
    });
    return toConnection(rows, size, orderCursor);
  },
};
