import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { ErrorCode, type Logger } from '@supergraph/service-kit';
import type { IdempotencyKeyRepository } from './db/idempotencyKeys.js';
import { newOrderId, type OrderRecord, type OrderRepository } from './db/orders.js';

/**
 * How long an idempotency key is kept, at least: long enough for a client to retry after an
 * outage, a crash, a night offline. After that the key places a new order. The README and the
 * schema's description of `idempotencyKey` say 24 hours; keep them in step.
 */
export const IDEMPOTENCY_KEY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Expired keys are swept at most this often per process, by the request that finds them due. */
const SWEEP_INTERVAL_MS = 60_000;

/** A claim that vanished between its duplicate-key error and its read: a sweep got it. */
const CLAIM_ATTEMPTS = 3;

export interface OrderInput {
  readonly item: string;
  readonly address: string;
}

export type OrderPlacement = ReturnType<typeof createOrderPlacement>;

/**
 * Places orders, once per idempotency key.
 *
 * An error does not mean nothing happened: an insert can be stored and its answer lost (a
 * database paused or restarted, a timeout), and the client, told SERVICE_UNAVAILABLE, retries.
 * With a key, the first request claims it with a unique index and fixes the order's id; every
 * later request with that key, including one racing the first, finds the claim and returns that
 * order, writing it itself if it is not there yet. No read before a write decides anything, so
 * no interleaving makes two orders, and FerretDB's unreliable single-document updates are not
 * used at all: inserts and unique indexes only.
 */
export function createOrderPlacement({
  orders,
  keys,
  logger,
  now = () => new Date(),
}: {
  orders: OrderRepository;
  keys: IdempotencyKeyRepository;
  logger: Logger;
  /** The clock, for tests of the retention. */
  now?: () => Date;
}) {
  let lastSweep = 0;

  /** Deletes the keys older than the retention at `at`. Returns how many. */
  function sweep(at: Date = now()): Promise<number> {
    return keys.deleteClaimedBefore(new Date(at.getTime() - IDEMPOTENCY_KEY_RETENTION_MS));
  }

  async function sweepIfDue(at: Date): Promise<void> {
    if (at.getTime() - lastSweep < SWEEP_INTERVAL_MS) return;
    lastSweep = at.getTime();
    try {
      await sweep(at);
    } catch (error) {
      // Tidying up must not cost anyone their order: the next sweep deletes what this one left.
      logger.warn('idempotency key sweep failed', {
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    }
  }

  return {
    sweep,

    /**
     * Places an order for `userId`. With `idempotencyKey`, returns the order that key placed,
     * if it placed one, and refuses the key with IDEMPOTENCY_KEY_REUSED if it came with other
     * input.
     */
    async place(userId: string, input: OrderInput, idempotencyKey?: string): Promise<OrderRecord> {
      const at = now();
      if (idempotencyKey === undefined) return orders.insert({ userId, ...input }, at);
      await sweepIfDue(at);
      const inputHash = hashInput(input);
      for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
        const claimed = await keys.claim({
          userId,
          key: idempotencyKey,
          inputHash,
          orderId: newOrderId(),
          createdAt: at,
        });
        if (!claimed) continue;
        const { claim, fresh } = claimed;
        if (claim.inputHash !== inputHash) throw idempotencyKeyReused();
        if (!fresh) {
          const existing = await orders.findById(claim.orderId);
          if (existing) return existing;
        }
        // Every writer of this order writes the same document: its fields come from the claim
        // and from input with the claim's hash.
        return orders.insertOnce({
          _id: claim.orderId,
          userId,
          ...input,
          createdAt: claim.createdAt,
        });
      }
      throw new Error(`the claim of an idempotency key vanished ${CLAIM_ATTEMPTS} times`);
    },
  };
}

/** What tells a retry from a reuse: the input as stored, so " tea" and "tea" are one order. */
function hashInput({ item, address }: OrderInput): string {
  return createHash('sha256')
    .update(JSON.stringify([item, address]))
    .digest('hex');
}

function idempotencyKeyReused(): GraphQLError {
  return new GraphQLError(
    'This idempotencyKey was used already, for an order with other input. To place a new order, ' +
      'send a new key; to retry an order, send the input it was first sent with.',
    { extensions: { code: ErrorCode.IDEMPOTENCY_KEY_REUSED, field: 'idempotencyKey' } },
  );
}
