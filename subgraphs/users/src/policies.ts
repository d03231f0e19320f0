import { ObjectId } from 'mongodb';
import { adminPolicy, type Policy } from '@supergraph/subgraph-kit';

/**
 * The user a field is about: the `id` argument of a root field such as `user(id:)` or
 * `updateUser(id:)`, else the User the field is read from (`User.email`).
 */
function subjectUserId(
  source: unknown,
  args: Readonly<Record<string, unknown>>,
): string | undefined {
  const id = args['id'];
  if (typeof id === 'string') return id.toLowerCase();
  if (
    typeof source === 'object' &&
    source !== null &&
    '_id' in source &&
    source._id instanceof ObjectId
  ) {
    return source._id.toHexString();
  }
  return undefined;
}

/** The `@policy` names used in schema.graphql. Startup fails if the SDL names one missing here. */
export const policies: Readonly<Record<string, Policy>> = {
  self: ({ identity, source, args }) =>
    identity !== null && identity.id === subjectUserId(source, args),
  admin: adminPolicy,
};
