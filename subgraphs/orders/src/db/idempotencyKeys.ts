import { ObjectId, type Collection, type Db } from 'mongodb';
import { deleteInBatches, ensureIndexes, isDuplicateKeyError } from '@supergraph/service-kit';

/**
 * A `createOrder` idempotency key, claimed by the first request that sent it, with the id its
 * order has or will have.
 *
 * The claim is a separate document, inserted before the order, because the unique index that
 * settles a race must hold only keyed orders: a partial index on the orders would do on MongoDB,
 * but FerretDB 1.24 has no partial indexes, and its unique indexes treat a missing field as
 * distinct every time while MongoDB's treat it as one value, so a sparse one would behave
 * differently on the two. Here every document has both fields, and both servers agree.
 *
 * The order's id is chosen with the claim, so that whichever request finds the claim first can
 * write the order, and the orders' own `_id` index lets exactly one of them do so: a request that
 * died between the two inserts leaves a claim that the retry completes.
 */
export interface IdempotencyKeyDocument {
  _id: ObjectId;
  /** The owner: keys are per user, so one user's key never reaches another's order. */
  userId: string;
  key: string;
  /** SHA-256 of the order's input as stored, to tell a retry from a reuse with other input. */
  inputHash: string;
  orderId: ObjectId;
  /** When the key was claimed; also the order's `createdAt`, whoever writes the order. */
  createdAt: Date;
}

export type IdempotencyKeyClaim = Omit<IdempotencyKeyDocument, '_id'>;

export type IdempotencyKeyRepository = ReturnType<typeof createIdempotencyKeyRepository>;

/** `maxTimeMS` bounds each query on the server, which goes on with a query its client gave up on. */
export function createIdempotencyKeyRepository(
  db: Db,
  { maxTimeMS = 2_000 }: { maxTimeMS?: number } = {},
) {
  const keys: Collection<IdempotencyKeyDocument> =
    db.collection<IdempotencyKeyDocument>('idempotencyKeys');

  return {
    async ensureIndexes(): Promise<void> {
      await ensureIndexes(keys, [
        { key: { userId: 1, key: 1 }, name: 'user_key_unique', unique: true },
        { key: { createdAt: 1 }, name: 'created_at' },
      ]);
    },

    /**
     * Claims `claim.key` for `claim.userId`. Returns the claim that holds the key: this one when
     * it was free, else the one stored first (by a request still in flight, or finished). Null
     * only if that one vanished before it could be read, which a sweep can do.
     */
    async claim(claim: IdempotencyKeyClaim): Promise<{
      readonly claim: IdempotencyKeyClaim;
      readonly fresh: boolean;
    } | null> {
      try {
        await keys.insertOne({ _id: new ObjectId(), ...claim });
        return { claim, fresh: true };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      const stored = await keys.findOne(
        { userId: claim.userId, key: claim.key },
        { projection: { _id: 0 }, maxTimeMS },
      );
      return stored ? { claim: stored, fresh: false } : null;
    },

    /**
     * Deletes keys claimed before `before`, at most `maxBatches` batches (service-kit's
     * deleteInBatches). FerretDB has no TTL indexes, so the orders subgraph calls this now and
     * then. Returns how many it deleted.
     */
    async deleteClaimedBefore(before: Date, { maxBatches = 10 } = {}): Promise<number> {
      return deleteInBatches(
        db,
        keys.collectionName,
        { createdAt: { $lt: before } },
        { maxBatches, maxTimeMS },
      );
    },
  };
}
