import DataLoader from 'dataloader';
import type { ObjectId } from 'mongodb';
import { badUserInput, parseObjectId } from '@supergraph/service-kit';

/**
 * A per-request DataLoader that turns every `load(id)` of one tick into a single `$in` query.
 * `@apollo/subgraph` calls `__resolveReference` once per representation, so without this an
 * `_entities` request with N representations would make N queries (Apollo tech note TN0019).
 *
 * An id that is not an ObjectId fails that one key with BAD_USER_INPUT; it never reaches MongoDB.
 */
export function createByIdLoader<T extends { _id: ObjectId }>(
  fetchMany: (ids: readonly ObjectId[]) => Promise<readonly T[]>,
): DataLoader<string, T | null> {
  return new DataLoader<string, T | null>(async (keys) => {
    const parsed = keys.map((key) => {
      try {
        return parseObjectId(key);
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    });
    const ids = parsed.filter((p): p is ObjectId => !(p instanceof Error));
    const found = ids.length > 0 ? await fetchMany(ids) : [];
    const byId = new Map(found.map((doc) => [doc._id.toHexString(), doc]));
    return parsed.map((p) => (p instanceof Error ? p : (byId.get(p.toHexString()) ?? null)));
  });
}

/**
 * The `id` of an entity representation. `_entities` takes `[_Any!]!`, so a representation can
 * carry any JSON as its id; anything but a string is BAD_USER_INPUT at that entity, never an
 * internal error. Call it inside an `async` `__resolveReference`: @apollo/subgraph resolves all
 * representations in one `map`, so a synchronous throw would fail every entity, not just one.
 */
export function referenceId(reference: object): string {
  const id: unknown = 'id' in reference ? reference.id : undefined;
  if (typeof id === 'string') return id;
  throw badUserInput('An entity representation needs a string id.', { field: 'id' });
}
