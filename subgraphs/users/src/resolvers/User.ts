import { referenceId } from '@supergraph/subgraph-kit';
import type { UserResolvers } from '../generated/graphql.js';

export const User: UserResolvers = {
  // Batched: one `$in` query for every User representation in an `_entities` request.
  __resolveReference: async (reference, { loaders }) =>
    loaders.userById.load(referenceId(reference)),
  id: (user) => user._id.toHexString(),
};
