import { ObjectId, type Collection, type Db } from 'mongodb';
import { deleteInBatches, ensureIndexes, isDuplicateKeyError } from '@supergraph/service-kit';

/**
 * One login attempt that got as far as a password check, filed under one throttling key (a
 * username's or a client address's; see auth/loginThrottle.ts) as that key's attempt number
 * `seq`.
 *
 * A unique index on `(key, seq)` is what makes concurrent attempts safe: an attempt reads the
 * key's latest number, judges it, and claims the next number; two attempts that judged the same
 * state claim the same number, and exactly one of them gets it. A counter incremented with `$inc`
 * would not do: FerretDB applies updates by reading and writing back the whole document without
 * isolation, so concurrent increments are lost (twenty concurrent `$inc`s measured as 2). Counting
 * inserts after one's own insert would not do either: attempts that all insert before any of them
 * counts each see the others, and all refuse one another.
 */
export interface LoginAttemptDocument {
  _id: ObjectId;
  /** A SHA-256 of the scope and value: usernames people mistype (often a password) are not kept. */
  key: string;
  seq: number;
  at: Date;
}

export interface FiledAttempt {
  readonly seq: number;
  readonly at: Date;
}

export type LoginThrottleRepository = ReturnType<typeof createLoginThrottleRepository>;

/** `maxTimeMS` bounds each query on the server, which would go on with one its client gave up on. */
export function createLoginThrottleRepository(
  db: Db,
  { maxTimeMS = 2_000 }: { maxTimeMS?: number } = {},
) {
  const attempts: Collection<LoginAttemptDocument> =
    db.collection<LoginAttemptDocument>('loginAttempts');

  return {
    async ensureIndexes(): Promise<void> {
      await ensureIndexes(attempts, [
        { key: { key: 1, seq: -1 }, name: 'key_seq', unique: true },
        { key: { at: 1 }, name: 'at' },
      ]);
    },

    /** The latest attempts filed under `key`, newest first, at most `limit`. */
    async latest(key: string, limit: number): Promise<FiledAttempt[]> {
      return attempts
        .find({ key }, { projection: { _id: 0, seq: 1, at: 1 }, maxTimeMS })
        .sort({ seq: -1 })
        .limit(limit)
        .toArray();
    },

    /**
     * Files attempt number `seq` under `key` and returns its id, or null when another attempt
     * claimed that number first.
     */
    async claim(key: string, seq: number, at: Date): Promise<ObjectId | null> {
      const _id = new ObjectId();
      try {
        await attempts.insertOne({ _id, key, seq, at });
        return _id;
      } catch (error) {
        if (isDuplicateKeyError(error)) return null;
        throw error;
      }
    },

    /** Takes back attempts: a claim given up, or an address's attempt that succeeded. */
    async forget(ids: readonly ObjectId[]): Promise<void> {
      if (ids.length > 0) await attempts.deleteMany({ _id: { $in: [...ids] } });
    },

    /** Clears a key: a successful login resets its username's count. */
    async reset(key: string): Promise<void> {
      await attempts.deleteMany({ key });
    },

    /** Deletes attempts too old to count (FerretDB has no TTL indexes), in batches. */
    async deleteOlderThan(before: Date): Promise<void> {
      await deleteInBatches(
        db,
        attempts.collectionName,
        { at: { $lt: before } },
        { maxBatches: 40, maxTimeMS },
      );
    },
  };
}
