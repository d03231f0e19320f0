import type { Collection, Db } from 'mongodb';
import { deleteInBatches, ensureIndexes, isDuplicateKeyError } from '@supergraph/service-kit';

/**
 * One request id the router signed, seen once by some replica of this subgraph. The id is the
 * `_id`, so MongoDB's own unique `_id` index is what refuses the second insert: a claim, which
 * FerretDB gets right under concurrency, unlike an update of a shared document.
 */
export interface SignedRequestIdDocument {
  /** `x-identity-request-id`: 128 random bits, base64url. */
  _id: string;
  /** When no replica can accept the request any more; the sweep deletes it after that. */
  expiresAt: Date;
}

/** Batches per sweep, of service-kit's SWEEP_BATCH_SIZE ids: 50,000 ids, 5,000 requests a second at a sweep per 10 s. */
const SWEEP_MAX_BATCHES = 200;

export interface RequestIdStoreOptions {
  /** IDENTITY_MAX_SKEW_SECONDS: how far from now a request's timestamp is accepted, either way. */
  maxSkewSeconds: number;
  /** Server-side bound on each query (FerretDB goes on with queries whose client has left). */
  maxTimeMs: number;
}

export type RequestIdStore = ReturnType<typeof createRequestIdStore>;

/**
 * The request ids this subgraph has accepted, shared by its replicas through its own database.
 *
 * A request is accepted while its signed timestamp is within `maxSkewSeconds` of the replica's
 * clock, so its id is needed until the timestamp is that far in the past. It is kept as long
 * again, for replicas whose clocks run behind the one that recorded it. FerretDB has no TTL
 * indexes, so `sweep` deletes what has expired, in bounded batches.
 */
export function createRequestIdStore(db: Db, options: RequestIdStoreOptions) {
  const ids: Collection<SignedRequestIdDocument> =
    db.collection<SignedRequestIdDocument>('signedRequestIds');
  const keepSeconds = 2 * options.maxSkewSeconds;
  const maxTimeMS = options.maxTimeMs;

  return {
    async ensureIndexes(): Promise<void> {
      await ensureIndexes(ids, [{ key: { expiresAt: 1 }, name: 'expiresAt' }]);
    },

    /**
     * Records a request id, signed at `timestamp` (seconds since the epoch). True the first
     * time, false when any replica recorded it before: a replay. Database errors are thrown.
     */
    async claim(requestId: string, timestamp: number): Promise<boolean> {
      try {
        await ids.insertOne(
          { _id: requestId, expiresAt: new Date((timestamp + keepSeconds) * 1000) },
          { maxTimeMS },
        );
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },

    /** Deletes the ids that expired before `now`; returns how many. */
    async sweep(now = new Date()): Promise<number> {
      return deleteInBatches(
        db,
        ids.collectionName,
        { expiresAt: { $lt: now } },
        { maxBatches: SWEEP_MAX_BATCHES, maxTimeMS },
      );
    },
  };
}
