import DataLoader from 'dataloader';
import type { ObjectId } from 'mongodb';
import { parseObjectId } from '@supergraph/service-kit';

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
