import { ObjectId, type Collection, type Db, type Filter } from 'mongodb';
import { deleteInBatches, ensureIndexes, isDuplicateKeyError } from '@supergraph/service-kit';

/**
 * Where a filed attempt stands (auth/loginThrottle.ts judges it):
 * - `pending`: its password is being checked now;
 * - absent: it counts, as a failure does: a wrong password, one of an address's successful logins,
 *   or a claim from before this field existed;
 * - `succeeded`: the password was right, at `settledAt`;
 * - `withdrawn`: given back, it counts for nothing: a right password at an address, or an attempt
 *   refused at a later key after it claimed this one.
 */
export type AttemptState = 'pending' | 'succeeded' | 'withdrawn';

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
 *
 * An attempt settles its claim itself, with an update of that one document, which nothing else
 * writes at the same time. A claim is never deleted from the middle of its key's numbers, only
 * marked: a late claim that took a freed number would have been judged without the claims after
 * it. Only the sweep (attempts older than the window) and a known device's success delete.
 */
export interface LoginAttemptDocument {
  _id: ObjectId;
  /** A SHA-256 of the scope and value: usernames people mistype (often a password) are not kept. */
  key: string;
  seq: number;
  /** When the attempt claimed its number: lockouts run from here. */
  at: Date;
  /** When the login arrived, before it waited for a password slot and its claims. */
  startedAt?: Date;
  state?: AttemptState;
  /** When the attempt's password check ended. */
  settledAt?: Date;
}

export interface FiledAttempt {
  readonly seq: number;
  readonly at: Date;
  readonly startedAt?: Date;
  readonly state?: AttemptState;
  readonly settledAt?: Date;
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

    /**
     * The latest attempts filed under `key`, newest first, at most `limit`. With `burst`, only
     * those that can count for an attempt of the burst that began then: not the withdrawn ones,
     * nor successes of the burst (keep in step with `standing` in auth/loginThrottle.ts).
     */
    async latest(
      key: string,
      limit: number,
      { burst }: { burst?: Date } = {},
    ): Promise<FiledAttempt[]> {
      const filter: Filter<LoginAttemptDocument> = burst
        ? {
            key,
            $or: [
              { state: { $exists: false } },
              { state: 'pending' },
              { state: 'succeeded', startedAt: { $lt: burst } },
            ],
          }
        : { key };
      return attempts
        .find(filter, {
          projection: { _id: 0, seq: 1, at: 1, startedAt: 1, state: 1, settledAt: 1 },
          maxTimeMS,
        })
        .sort({ seq: -1 })
        .limit(limit)
        .toArray();
    },

    /**
     * Files attempt number `seq` under `key` and returns its id, or null when another attempt
     * claimed that number first. A `pending` claim is settled later (`settle`); any other counts
     * from the start.
     */
    async claim(
      key: string,
      seq: number,
      { at, startedAt, pending }: { at: Date; startedAt: Date; pending: boolean },
    ): Promise<ObjectId | null> {
      const _id = new ObjectId();
      try {
        await attempts.insertOne({
          _id,
          key,
          seq,
          at,
          startedAt,
          ...(pending ? { state: 'pending' as const } : {}),
        });
        return _id;
      } catch (error) {
        if (isDuplicateKeyError(error)) return null;
        throw error;
      }
    },

    /**
     * Ends pending claims: `failed` ones count from now on, the others become `succeeded` or
     * `withdrawn`. One round trip for them all.
     */
    async settle(
      claims: readonly { id: ObjectId; as: 'failed' | 'succeeded' | 'withdrawn' }[],
      at: Date,
    ): Promise<void> {
      if (claims.length === 0) return;
      await attempts.bulkWrite(
        claims.map(({ id, as }) => ({
          updateOne: {
            filter: { _id: id },
            update:
              as === 'failed'
                ? { $set: { settledAt: at }, $unset: { state: '' } }
                : { $set: { settledAt: at, state: as } },
          },
        })),
        { ordered: false, maxTimeMS },
      );
    },

    /**
     * Clears a key, as a known device's success does, but for the attempts that are pending now:
     * those settle as they end, and a wrong password among them still counts. Pending claims
     * older than `stalePendingBefore` (their attempt died) go too, and so do `ids`.
     */
    async reset(
      key: string,
      { stalePendingBefore, ids }: { stalePendingBefore: Date; ids: readonly ObjectId[] },
    ): Promise<void> {
      await attempts.deleteMany(
        {
          key,
          $or: [
            { state: { $ne: 'pending' } },
            { at: { $lt: stalePendingBefore } },
            { _id: { $in: [...ids] } },
          ],
        },
        { maxTimeMS },
      );
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
