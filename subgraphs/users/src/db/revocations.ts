import type { Collection, Db } from 'mongodb';
import type { SessionRevocation } from '@supergraph/identity';
import { ensureIndexes, isDuplicateKeyError } from '@supergraph/service-kit';

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

export function createRevocationRepository(db: Db) {
  const revocations: Collection<RevocationDocument> =
    db.collection<RevocationDocument>('revocations');

  return {
    async ensureIndexes(): Promise<void> {
      await ensureIndexes(revocations, [{ key: { at: 1 }, name: 'at' }]);
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

    /** The revocations made after `since`. */
    async since(since: Date): Promise<SessionRevocation[]> {
      const docs = await revocations.find({ at: { $gt: since } }).toArray();
      return docs.map(({ sid, upTo }) => (upTo === null ? { sid } : { sid, upTo }));
    },

    /** Deletes what no live token can need. FerretDB has no TTL indexes, so this runs now and then. */
    async deleteOlderThan(before: Date): Promise<void> {
      await revocations.deleteMany({ at: { $lt: before } });
    },
  };
}
