import { randomBytes } from 'node:crypto';
import { ObjectId, type Collection, type Db, type Filter } from 'mongodb';
import { ensureIndexes, isDuplicateKeyError, mapAtMost } from '@supergraph/service-kit';

export interface OrderDocument {
  _id: ObjectId;
  /** The owner: the `sub` of the token that created the order. */
  userId: string;
  item: string;
  address: string;
  createdAt: Date;
}

export type OrderRecord = OrderDocument;

/** A User as the orders subgraph knows it: just the key, from the router's representation. */
export interface UserReference {
  id: string;
}

/** Where a page starts: orders are listed newest first, ties broken by `_id`. */
export interface OrderPosition {
  createdAt: Date;
  id: ObjectId;
}

export type OrderRepository = ReturnType<typeof createOrderRepository>;

const NEWEST_FIRST = { createdAt: -1, _id: -1 } as const;

/** Keyset pagination: strictly after `position` in newest-first order, with no skip/offset scan. */
function after(position: OrderPosition | undefined): Filter<OrderDocument> {
  if (!position) return {};
  return {
    $or: [
      { createdAt: { $lt: position.createdAt } },
      { createdAt: position.createdAt, _id: { $lt: position.id } },
    ],
  };
}

/**
 * Queries one `listForUsers` keeps in flight at most. More buys nothing on FerretDB 1.24, which
 * reads and sorts the whole collection for every query, bound by CPU: on two cores and 2,000
 * orders, 20 such queries took about 3 s in all at 1, 2, 4 or 8 in flight, and the slowest one
 * 231, 551, 823 and 1,837 ms, closing on maxTimeMS. mongod answers each from the index in
 * about a round trip, and a page of 100 users never takes 100 pooled connections at once.
 */
export const USER_QUERIES_IN_FLIGHT = 2;

/**
 * A new order's id: twelve random bytes, not the driver's ObjectId, whose counter goes up by one
 * per id and whose seconds say when: from two of their own orders' ids a user could tell how
 * many orders everyone placed in between. Lists sort by `createdAt`, so nothing needs the order
 * of ids.
 */
export function newOrderId(): ObjectId {
  return new ObjectId(randomBytes(12));
}

/**
 * Everything the orders subgraph does with MongoDB. Resolvers never touch the driver directly.
 * `maxTimeMS` bounds each read on the server, which goes on with a query its client gave up on.
 */
export function createOrderRepository(db: Db, { maxTimeMS = 2_000 }: { maxTimeMS?: number } = {}) {
  const orders: Collection<OrderDocument> = db.collection<OrderDocument>('orders');

  /** One page of orders, all users' when `userId` is undefined (admins). */
  async function list(
    userId: string | undefined,
    limit: number,
    position: OrderPosition | undefined,
  ): Promise<OrderRecord[]> {
    const filter: Filter<OrderDocument> = {
      ...(userId === undefined ? {} : { userId }),
      ...after(position),
    };
    return orders.find(filter, { maxTimeMS }).sort(NEWEST_FIRST).limit(limit).toArray();
  }

  return {
    async ensureIndexes(): Promise<void> {
      await ensureIndexes(orders, [
        // A user's orders, newest first: `User.orders`, `Query.orders` for a USER.
        { key: { userId: 1, createdAt: -1, _id: -1 }, name: 'user_newest_first' },
        // Everyone's orders, newest first: `Query.orders` for an ADMIN.
        { key: { createdAt: -1, _id: -1 }, name: 'newest_first' },
      ]);
    },

    async insert(
      input: Omit<OrderDocument, '_id' | 'createdAt'>,
      now = new Date(),
    ): Promise<OrderRecord> {
      const doc: OrderDocument = { _id: newOrderId(), ...input, createdAt: now };
      await orders.insertOne(doc);
      return doc;
    },

    /**
     * Writes an order whose id was chosen beforehand (an idempotency key's), unless it exists
     * already; either way returns the order stored under that id. The `_id` index decides
     * between requests that write the same order at once.
     */
    async insertOnce(doc: OrderDocument): Promise<OrderRecord> {
      try {
        await orders.insertOne(doc);
        return doc;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      const stored = await orders.findOne({ _id: doc._id }, { maxTimeMS });
      // The `_id` index refused the write, so the order is there: gone now means deleted since.
      if (!stored) throw new Error(`order ${doc._id.toHexString()} vanished after a duplicate key`);
      return stored;
    },

    async findById(id: ObjectId): Promise<OrderRecord | null> {
      return orders.findOne({ _id: id }, { maxTimeMS });
    },

    async findByIds(ids: readonly ObjectId[]): Promise<OrderRecord[]> {
      return orders.find({ _id: { $in: [...ids] } }, { maxTimeMS }).toArray();
    },

    list,

    /**
     * The first `limit` orders of each of several users, for `User.orders` across a list of
     * users: one limited `list` per user, which mongod answers from `user_newest_first` reading
     * `limit` orders. One `$in` query over all of them read every order of every user to keep
     * `limit` of each, and a per-group limit in one query needs `$topN`, `$setWindowFields`,
     * `$push` with `$slice`, `$facet`, `$unionWith` or `$lookup`, none of which FerretDB 1.24 has.
     */
    async listForUsers(
      userIds: readonly string[],
      limit: number,
      position: OrderPosition | undefined,
    ): Promise<Map<string, OrderRecord[]>> {
      const byUser = new Map<string, OrderRecord[]>(userIds.map((id) => [id, []]));
      await mapAtMost(USER_QUERIES_IN_FLIGHT, [...byUser.keys()], async (userId) => {
        byUser.set(userId, await list(userId, limit, position));
      });
      return byUser;
    },
  };
}
