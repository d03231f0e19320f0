import { ObjectId, type Collection, type Db } from 'mongodb';
import { ensureIndexes } from '@supergraph/service-kit';

/**
 * One login attempt that got as far as a password check, filed under one throttling key (a
 * username's or a client address's; see auth/loginThrottle.ts). Each attempt is a document of
 * its own rather than a counter incremented with `$inc`: FerretDB applies updates by reading
 * and writing back the whole document without isolation, so concurrent increments of one
 * counter are lost (twenty concurrent `$inc`s measured as 2). Concurrent inserts are never lost,
 * on FerretDB or MongoDB, and a count taken after one's own insert sees every insert before it.
 */
export interface LoginAttemptDocument {
  _id: ObjectId;
  /** A SHA-256 of the scope and value: usernames people mistype (often a password) are not kept. */
  key: string;
  at: Date;
}

export type LoginThrottleRepository = ReturnType<typeof createLoginThrottleRepository>;

export function createLoginThrottleRepository(db: Db) {
  const attempts: Collection<LoginAttemptDocument> =
    db.collection<LoginAttemptDocument>('loginThrottle');

  return {
    async ensureIndexes(): Promise<void> {
      await ensureIndexes(attempts, [
        { key: { key: 1, at: -1 }, name: 'key_at' },
        { key: { at: 1 }, name: 'at' },
      ]);
    },

    /** Files an attempt and returns its id. */
    async record(key: string, at: Date): Promise<ObjectId> {
      const _id = new ObjectId();
      await attempts.insertOne({ _id, key, at });
      return _id;
    },

    /**
     * The times of the attempts under `key` since `since`, newest first, leaving out `except`
     * (the caller's own attempt). At most `limit`: past a point more of them changes nothing.
     */
    async recent(key: string, since: Date, limit: number, except?: ObjectId): Promise<Date[]> {
      const filter = except
        ? { key, at: { $gt: since }, _id: { $ne: except } }
        : { key, at: { $gt: since } };
      const rows = await attempts
        .find(filter, { projection: { at: 1 } })
        .sort({ at: -1 })
        .limit(limit)
        .toArray();
      return rows.map((row) => row.at);
    },

    /** Takes back attempts: those refused after all, or an address's attempt that succeeded. */
    async forget(ids: readonly ObjectId[]): Promise<void> {
      if (ids.length > 0) await attempts.deleteMany({ _id: { $in: [...ids] } });
    },

    /** Clears a key: a successful login resets its username's count. */
    async reset(key: string): Promise<void> {
      await attempts.deleteMany({ key });
    },

    /** Deletes attempts too old to count. FerretDB has no TTL indexes, so this runs now and then. */
    async deleteOlderThan(before: Date): Promise<void> {
      await attempts.deleteMany({ at: { $lt: before } });
    },
  };
}
