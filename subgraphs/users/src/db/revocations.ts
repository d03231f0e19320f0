import type { Collection, Db } from 'mongodb';
import type { SessionRevocation } from '@supergraph/identity';
import { deleteInBatches, ensureIndexes, isDuplicateKeyError } from '@supergraph/service-kit';

/**
 * One revocation of a session's access tokens: all of them (`upTo: null`), or those of
 * generations up to `upTo`. See packages/identity/src/revocations.ts.
 *
 * The routers check access tokens and have no database; they fetch the recent revocations from
 * `GET /revocations` (auth/revocations.ts). Kept here, every users replica serves what any of
 * them wrote, and every router sees it.
 */
export interface RevocationDocument {
  /**
   * `<sid>:<upTo or all>`: one document per revocation, however often it is made (a revoked
   * refresh token presented again, a logout sent twice), so the list grows with sessions ended,
   * not with requests.
   */
  _id: string;
  /** The session: a refresh token family id. */
  sid: string;
  upTo: number | null;
  at: Date;
}

export type RevocationRepository = ReturnType<typeof createRevocationRepository>;

/** `maxTimeMS` bounds each query on the server, which would go on with one its client gave up on. */
export function createRevocationRepository(
  db: Db,
  { maxTimeMS = 2_000 }: { maxTimeMS?: number } = {},
) {
  const revocations: Collection<RevocationDocument> =
    db.collection<RevocationDocument>('revocations');

  return {
    async ensureIndexes(): Promise<void> {
      await ensureIndexes(revocations, [{ key: { at: 1, _id: 1 }, name: 'at_id' }]);
    },

    async add(sessions: readonly SessionRevocation[], at = new Date()): Promise<void> {
      await Promise.all(
        sessions.map(async ({ sid, upTo = null }) => {
          try {
            await revocations.updateOne(
              { _id: `${sid}:${upTo ?? 'all'}` },
              { $set: { sid, upTo, at } },
              { upsert: true },
            );
          } catch (error) {
            // Two upserts of one revocation at once: the other one made it.
            if (!isDuplicateKeyError(error)) throw error;
          }
        }),
      );
    },

    /**
     * Up to `limit` revocations after `after` (by time, then id), oldest first. `after.id` of ''
     * takes every revocation at `after.at` and later.
     */
    async page(after: { at: Date; id: string }, limit: number): Promise<RevocationDocument[]> {
      return revocations
        .find(
          { $or: [{ at: { $gt: after.at } }, { at: after.at, _id: { $gt: after.id } }] },
          { maxTimeMS },
        )
        .sort({ at: 1, _id: 1 })
        .limit(limit)
        .toArray();
    },

    /** Deletes what no live token can need (FerretDB has no TTL indexes), in batches. */
    async deleteOlderThan(before: Date): Promise<void> {
      await deleteInBatches(
        db,
        revocations.collectionName,
        { at: { $lt: before } },
        { maxBatches: 40, maxTimeMS },
      );
    },
  };
}
