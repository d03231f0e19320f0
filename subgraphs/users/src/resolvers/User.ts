import { ObjectId } from 'mongodb';
import { referenceId } from '@supergraph/subgraph-kit';
import type { UserRecord } from '../db/users.js';
import type { UserResolvers } from '../generated/graphql.js';

/**
 * What a reference to a deleted user resolves to. Deleting a user keeps their orders (an order
 * history is the shop's record, not the user's), and an order's `user` is non-null: without a
 * stand-in, one deleted owner would null the admin's whole order list. The stand-in has the id
 * and nothing else of the person. A reference to an id that never existed gets the same, so the
 * answer does not tell the two apart.
 */
const deletedUsers = new WeakSet<UserRecord>();
export const DELETED_USERNAME = '(deleted user)';

function deletedUser(id: string): UserRecord | null {
  if (!ObjectId.isValid(id) || !/^[0-9a-f]{24}$/i.test(id)) return null;
  const _id = new ObjectId(id);
  const record: UserRecord = {
    _id,
    username: DELETED_USERNAME,
    fullName: null,
    email: null,
    role: 'USER',
    createdAt: _id.getTimestamp(),
    updatedAt: _id.getTimestamp(),
  };
  deletedUsers.add(record);
  return record;
}

export const User: UserResolvers = {
  // Batched: one `$in` query for every User representation in an `_entities` request.
  __resolveReference: async (reference, { loaders }) => {
    const id = referenceId(reference);
    return (await loaders.userById.load(id)) ?? deletedUser(id);
  },
  id: (user) => user._id.toHexString(),
  deleted: (user) => deletedUsers.has(user),
};
