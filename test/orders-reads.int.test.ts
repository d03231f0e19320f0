import { randomBytes } from 'node:crypto';
import {
  MongoClient,
  type CommandStartedEvent,
  type CommandSucceededEvent,
  type Db,
} from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createOrderRepository,
  newOrderId,
  USER_QUERIES_IN_FLIGHT,
  type OrderDocument,
  type OrderPosition,
  type OrderRecord,
  type OrderRepository,
} from '../subgraphs/orders/src/db/orders.js';
import { orderCursor } from '../subgraphs/orders/src/resolvers/cursor.js';
import { at, expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';

/**
 * `User.orders` across a page of users reads what each user's `first` asks for, and no more:
 * counted in the documents the database hands back, which is what the subgraph has to decode
 * and what mongod reads through the `user_newest_first` index for a limited query. One query
 * over all the users' orders read all of them, 2,000 here, to keep two of each.
 */
const USERS = 20;
const ORDERS_PER_USER = 100;
const FIRST = 1;
/** The page plus the one row that tells whether there is a next page. */
const MOST_READ = USERS * (FIRST + 1);

const START = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

/**
 * A user's orders, `#0` the oldest. Order n of user u is n minutes and u milliseconds after
 * START, so one user's cursor falls between the same two orders of every user: after user 0's
 * order n, each user's next order is their order n - 1.
 */
function ordersOf(userId: string, user: number): OrderDocument[] {
  return Array.from({ length: ORDERS_PER_USER }, (_, n) => ({
    _id: newOrderId(),
    userId,
    item: `${userId} #${n}`,
    address: '1 Main St',
    createdAt: new Date(START + n * MINUTE + user),
  }));
}

function positionOf(order: OrderDocument): OrderPosition {
  return { createdAt: order.createdAt, id: order._id };
}

/** How many documents a find, aggregate or getMore reply from `namespace` carries. */
function batchSize(reply: unknown, namespace: string): number {
  if (typeof reply !== 'object' || reply === null || !('cursor' in reply)) return 0;
  const { cursor } = reply;
  if (typeof cursor !== 'object' || cursor === null) return 0;
  if (!('ns' in cursor) || cursor.ns !== namespace) return 0;
  const batch =
    'firstBatch' in cursor ? cursor.firstBatch : 'nextBatch' in cursor ? cursor.nextBatch : [];
  return Array.isArray(batch) ? batch.length : 0;
}

/**
 * The documents `client` received from `namespace` while `work` ran: every batch of every
 * reply, as the driver's command monitoring reports them.
 */
async function documentsRead<T>(
  client: MongoClient,
  namespace: string,
  work: () => Promise<T>,
): Promise<{ result: T; documents: number }> {
  let documents = 0;
  const count = ({ reply }: CommandSucceededEvent) => (documents += batchSize(reply, namespace));
  client.on('commandSucceeded', count);
  try {
    return { result: await work(), documents };
  } finally {
    client.off('commandSucceeded', count);
  }
}

/** The most `find`s on `collection` that were in flight at once while `work` ran. */
async function mostFindsInFlight(
  client: MongoClient,
  collection: string,
  work: () => Promise<unknown>,
): Promise<number> {
  // Request ids repeat across connections: a command is its connection's and its own id.
  const keyOf = (event: { connectionId?: string | number; requestId: number }) =>
    `${event.connectionId}:${event.requestId}`;
  const inFlight = new Set<string>();
  let most = 0;
  const started = (event: CommandStartedEvent) => {
    if (event.commandName !== 'find' || event.command['find'] !== collection) return;
    inFlight.add(keyOf(event));
    most = Math.max(most, inFlight.size);
  };
  const ended = (event: { connectionId?: string | number; requestId: number }) =>
    inFlight.delete(keyOf(event));
  client.on('commandStarted', started);
  client.on('commandSucceeded', ended);
  client.on('commandFailed', ended);
  try {
    await work();
    return most;
  } finally {
    client.off('commandStarted', started);
    client.off('commandSucceeded', ended);
    client.off('commandFailed', ended);
  }
}

/** The items of each user's list, in the order of `userIds`. */
function itemsByUser(byUser: Map<string, OrderRecord[]>, userIds: readonly string[]): string[][] {
  return userIds.map((id) => (byUser.get(id) ?? []).map((order) => order.item));
}

describe('listForUsers: a page of orders for each of many users', () => {
  let client: MongoClient;
  let db: Db;
  let repository: OrderRepository;
  let namespace: string;
  const userIds = Array.from({ length: USERS }, (_, user) => `user-${user}`);
  const seeded = new Map<string, OrderDocument[]>();

  beforeAll(async () => {
    client = new MongoClient(inject('mongodbUri'), { monitorCommands: true });
    await client.connect();
    db = client.db(`t_orders_reads_${randomBytes(3).toString('hex')}`);
    namespace = `${db.databaseName}.orders`;
    repository = createOrderRepository(db);
    await repository.ensureIndexes();
    for (const [user, userId] of userIds.entries()) seeded.set(userId, ordersOf(userId, user));
    await db.collection<OrderDocument>('orders').insertMany([...seeded.values()].flat());
  });
  afterAll(async () => {
    await db?.dropDatabase();
    await client?.close();
  });

  const newest = (userId: string, n: number) => seeded.get(userId)?.[n];

  it('reads at most `limit` orders of each user, newest first', async () => {
    const { result, documents } = await documentsRead(client, namespace, () =>
      repository.listForUsers(userIds, FIRST + 1, undefined),
    );
    expect(itemsByUser(result, userIds)).toEqual(userIds.map((id) => [`${id} #99`, `${id} #98`]));
    expect(documents).toBeLessThanOrEqual(MOST_READ);
  });

  it('starts each user after the position, reading no more', async () => {
    const position = positionOf(newest('user-0', 99)!);
    const { result, documents } = await documentsRead(client, namespace, () =>
      repository.listForUsers(userIds, FIRST + 1, position),
    );
    expect(itemsByUser(result, userIds)).toEqual(userIds.map((id) => [`${id} #98`, `${id} #97`]));
    expect(documents).toBeLessThanOrEqual(MOST_READ);
  });

  it('returns fewer rows than the limit on the last page, and nothing for a user without orders', async () => {
    const position = positionOf(newest('user-0', 1)!);
    const asked = [...userIds, 'no-orders'];
    const { result } = await documentsRead(client, namespace, () =>
      repository.listForUsers(asked, FIRST + 1, position),
    );
    expect(itemsByUser(result, asked)).toEqual([...userIds.map((id) => [`${id} #0`]), []]);
  });

  it(`keeps at most ${USER_QUERIES_IN_FLIGHT} queries in flight`, async () => {
    const most = await mostFindsInFlight(client, 'orders', () =>
      repository.listForUsers(userIds, FIRST + 1, undefined),
    );
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(USER_QUERIES_IN_FLIGHT);
  });
});

const USERS_WITH_ORDERS = `query ($users: Int!, $ordersAfter: String) {
  users(first: $users) {
    edges { node { id orders(first: ${FIRST}, after: $ordersAfter) {
      edges { cursor node { item } }
      pageInfo { hasNextPage endCursor }
    } } }
  }
}`;

interface UserOrdersPage {
  id: string;
  orders: {
    edges: { cursor: string; node: { item: string } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

describe('User.orders for a page of users, through the router', () => {
  let graph: RunningGraph;
  let admin: { token: string };
  /**
   * The seed users, who have no orders, are on the page too: their ids come from the server
   * (an upsert), so within a second they may sort before or after the buyers' ids.
   */
  let seedIds: string[];
  const buyers: { id: string; orders: OrderDocument[] }[] = [];

  beforeAll(async () => {
    // users > edges > node > orders > edges > node > item is seven fields deep, one over the
    // router's default MAX_DEPTH.
    graph = await startGraph('orders-reads', { routerEnv: { MAX_DEPTH: '7' } });
    admin = await graph.login('admin', 'a');
    const seeds = await graph.request(
      graph.routerUrl,
      'query { users(first: 100) { edges { node { id } } } }',
      { token: admin.token },
    );
    expectOk(seeds);
    seedIds = (at(seeds.body, ['users', 'edges']) as { node: { id: string } }[]).map(
      (edge) => edge.node.id,
    );
    for (let buyer = 0; buyer < USERS; buyer++) {
      const created = await graph.request(
        graph.routerUrl,
        'mutation ($u: String!) { createUser(input: { username: $u, password: "long-enough" }) { id } }',
        { token: admin.token, variables: { u: `buyer-${buyer}` } },
      );
      expectOk(created);
      const id = at(created.body, ['createUser', 'id']) as string;
      buyers.push({ id, orders: ordersOf(id, buyer) });
    }
    await graph.ordersDb
      .collection<OrderDocument>('orders')
      .insertMany(buyers.flatMap((buyer) => buyer.orders));
  });
  afterAll(() => graph?.stop());

  /** Every user's first page of orders after `ordersAfter`, as the admin sees it. */
  async function page(ordersAfter: string | null) {
    const { result, documents } = await documentsRead(
      graph.ordersDb.client,
      `${graph.ordersDb.databaseName}.orders`,
      () =>
        graph.request(graph.routerUrl, USERS_WITH_ORDERS, {
          token: admin.token,
          variables: { users: seedIds.length + USERS, ordersAfter },
        }),
    );
    expectOk(result);
    const edges = at(result.body, ['users', 'edges']) as { node: UserOrdersPage }[];
    const pages = edges.map((edge) => edge.node);
    const seeds = pages.filter((user) => seedIds.includes(user.id));
    expect(seeds.map((user) => user.orders.edges)).toEqual(seedIds.map(() => []));
    return { pages: pages.filter((user) => !seedIds.includes(user.id)), documents };
  }

  const itemsOf = (pages: UserOrdersPage[]) =>
    pages.map((user) => user.orders.edges.map((edge) => edge.node.item));

  it(`reads at most ${MOST_READ} orders for orders(first: ${FIRST}) of ${USERS} users`, async () => {
    const { pages, documents } = await page(null);
    expect(pages.map((user) => user.id)).toEqual(buyers.map((buyer) => buyer.id));
    expect(itemsOf(pages)).toEqual(buyers.map((buyer) => [`${buyer.id} #99`]));
    expect(pages.every((user) => user.orders.pageInfo.hasNextPage)).toBe(true);
    expect(documents).toBeLessThanOrEqual(MOST_READ);
  });

  it('pages on with `after`, still reading at most the page and one row per user', async () => {
    const first = await page(null);
    const endCursor = first.pages[0]?.orders.pageInfo.endCursor ?? null;
    expect(endCursor).not.toBeNull();
    const { pages, documents } = await page(endCursor);
    expect(itemsOf(pages)).toEqual(buyers.map((buyer) => [`${buyer.id} #98`]));
    expect(pages.every((user) => user.orders.pageInfo.hasNextPage)).toBe(true);
    expect(documents).toBeLessThanOrEqual(MOST_READ);
  });

  it('tells the last page by the missing extra row', async () => {
    const secondOldest = buyers[0]?.orders[1];
    expect(secondOldest).toBeDefined();
    const { pages, documents } = await page(orderCursor(secondOldest!));
    expect(itemsOf(pages)).toEqual(buyers.map((buyer) => [`${buyer.id} #0`]));
    expect(pages.some((user) => user.orders.pageInfo.hasNextPage)).toBe(false);
    expect(documents).toBeLessThanOrEqual(USERS);
  });
});
