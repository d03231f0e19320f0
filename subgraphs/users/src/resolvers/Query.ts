import { isObjectIdHex, parseObjectId } from '@supergraph/service-kit';
import { decodeCursor, encodeCursor, pageSize, toConnection } from '@supergraph/subgraph-kit';
import type { QueryResolvers } from '../generated/graphql.js';

interface UserCursor {
  id: string;
}

function isUserCursor(value: unknown): value is UserCursor {
  return typeof value === 'object' && value !== null && 'id' in value && isObjectIdHex(value.id);
}

export const Query: QueryResolvers = {
  // A token from an external issuer may carry a `sub` that is no user of ours: that is no user.
  me: (_parent, _args, { identity, loaders }) =>
    identity && isObjectIdHex(identity.id) ? loaders.userById.load(identity.id) : null,

  user: (_parent, { id }, { loaders }) => loaders.userById.load(parseObjectId(id).toHexString()),

  users: async (_parent, { first, after }, { users }) => {
    const size = pageSize(first);
    const afterId =
      after != null ? parseObjectId(decodeCursor(after, isUserCursor).id, 'after') : undefined;
    const rows = await users.list(size + 1, afterId);
    return toConnection(rows, size, (user) => encodeCursor({ id: user._id.toHexString() }));
  },
};
