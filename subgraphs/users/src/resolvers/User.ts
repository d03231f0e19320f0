import type { UserResolvers } from '../generated/graphql.js';

export const User: UserResolvers = {
  // Batched: one `$in` query for every User representation in an `_entities` request.
  __resolveReference: (reference, { loaders }) => loaders.userById.load(reference.id),
  id: (user) => user._id.toHexString(),
};
