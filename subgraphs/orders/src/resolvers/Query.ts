import { isAdmin } from '@supergraph/identity';
import { parseObjectId, unauthenticated } from '@supergraph/service-kit';
import { pageSize, toConnection } from '@supergraph/subgraph-kit';
import type { QueryResolvers } from '../generated/graphql.js';
import { orderCursor, orderPosition } from './cursor.js';

export const Query: QueryResolvers = {
  // Another user's order is answered as a missing one: `null`, no error. A FORBIDDEN would tell
  // which ids are orders. `type Order @policy(owner | admin)` still guards every other way in.
  order: async (_parent, { id }, { identity, loaders }) => {
    const order = await loaders.orderById.load(parseObjectId(id).toHexString());
    if (!order || !identity) return null;
    return isAdmin(identity) || order.userId === identity.id ? order : null;
  },

  orders: async (_parent, { first, after }, { identity, orders }) => {
    // @authenticated already refused anonymous callers; this narrows the type.
    if (!identity) throw unauthenticated();
    const size = pageSize(first);
    const owner = isAdmin(identity) ? undefined : identity.id;
    const rows = await orders.list(owner, size + 1, orderPosition(after));
    return toConnection(rows, size, orderCursor);
  },
};
