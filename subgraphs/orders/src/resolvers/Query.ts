import { isAdmin } from '@supergraph/identity';
import { parseObjectId, unauthenticated } from '@supergraph/service-kit';
import { pageSize, toConnection } from '@supergraph/subgraph-kit';
import type { QueryResolvers } from '../generated/graphql.js';
import { orderCursor, orderPosition } from './cursor.js';

export const Query: QueryResolvers = {
  // `type Order @policy(owner | admin)` decides who sees the result; this only fetches it.
  order: (_parent, { id }, { loaders }) => loaders.orderById.load(parseObjectId(id).toHexString()),

  orders: async (_parent, { first, after }, { identity, orders }) => {
    // @authenticated already refused anonymous callers; this narrows the type.
    if (!identity) throw unauthenticated();
    const size = pageSize(first);
    const owner = isAdmin(identity) ? undefined : identity.id;
    const rows = await orders.list(owner, size + 1, orderPosition(after));
    return toConnection(rows, size, orderCursor);
  },
};
