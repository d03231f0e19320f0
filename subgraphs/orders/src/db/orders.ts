import { randomBytes } from 'node:crypto';
import { ObjectId, type Collection, type Db, type Filter } from 'mongodb';
import { ensureIndexes, isDuplicateKeyError } from '@supergraph/service-kit';

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

/** Everything the orders subgraph does with MongoDB. Resolvers never touch the driver directly. */
/**
 * A new order's id: twelve random bytes, not the driver's ObjectId, whose counter goes up by one
 * per id and whose seconds say when: from two of their own orders' ids a user could tell how
 * many orders everyone placed in between. Lists sort by `createdAt`, so nothing needs the order
 * of ids.
 */
export function newOrderId(): ObjectId {
  return new ObjectId(randomBytes(12));
}

export function createOrderRepository(db: Db, { maxTimeMS = 2_000 }: { maxTimeMS?: number } = {}) {
  const orders: Collection<OrderDocument> = db.collection<OrderDocument>('orders');

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
      return orders.find({ _id: { $in: [...ids] } }).toArray();
    },

    /** One page of orders, all users' when `userId` is undefined (admins). */
    async list(
      userId: string | undefined,
      limit: number,
      position: OrderPosition | undefined,
    ): Promise<OrderRecord[]> {
      const filter: Filter<OrderDocument> = {
        ...(userId === undefined ? {} : { userId }),
        ...after(position),
      };
      return orders.find(filter).sort(NEWEST_FIRST).limit(limit).toArray();
    },

    /**
     * The first `limit` orders of each of several users in one query, for `User.orders` across a
     * list of users. MongoDB has no portable per-group limit (`$topN` needs 5.2 and FerretDB
     * lacks it), so with several users this reads all their orders after `position` and cuts
     * each list here; with one user, the limit goes to the server.
     */
    async listForUsers(
      userIds: readonly string[],
      limit: number,
      position: OrderPosition | undefined,
    ): Promise<Map<string, OrderRecord[]>> {
      const cursor = orders
        .find({ userId: { $in: [...userIds] }, ...after(position) })
        .sort({ userId: 1, ...NEWEST_FIRST });
      if (userIds.length === 1) cursor.limit(limit);
      const byUser = new Map<string, OrderRecord[]>(userIds.map((id) => [id, []]));
      for await (const order of cursor) {
        const list = byUser.get(order.userId);
        if (list && list.length < limit) list.push(order);
      }
      return byUser;
    },
  };
}
