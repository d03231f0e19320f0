import { randomBytes } from 'node:crypto';
import { MongoClient, ObjectId, type CommandStartedEvent, type Db, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRequestIdStore } from '@supergraph/subgraph-kit';
import { createIdempotencyKeyRepository } from '../subgraphs/orders/src/db/idempotencyKeys.js';
import { createOrderRepository, newOrderId } from '../subgraphs/orders/src/db/orders.js';
import { createPasswordHasher } from '../subgraphs/users/src/auth/passwords.js';
import { createRefreshTokenRepository } from '../subgraphs/users/src/db/refreshTokens.js';
import { createRevocationRepository } from '../subgraphs/users/src/db/revocations.js';
import { seedUsers } from '../subgraphs/users/src/db/seed.js';
import { createUserRepository } from '../subgraphs/users/src/db/users.js';
import { createLogger } from '@supergraph/service-kit';

/**
 * Every query the repositories send is one an index serves, and every index they create serves
 * one of them.
 *
 * Not checked with `explain`: FerretDB 1.24 on SQLite answers it with SQLite's query plan for
 * the SQL it runs, and that SQL filters only on a lone `_id` (`filterPushdown`), sorts only on
 * `$natural` and limits only an unfiltered, unsorted query. Everything else is read whole and
 * filtered and sorted in FerretDB, so every plan reads `SCAN <table>`, with or without the
 * index, even for `_id` (its pushed-down expression is not the one its index is built on).
 * What can be checked everywhere is whether an index exists that mongod can use: the queries
 * are taken from the commands the real repository code sends, and matched against the
 * collection's own index list.
 */

/** One query as a command sent it: the collection, its filter and its sort. */
interface QueryShape {
  readonly collection: string;
  readonly filter: Document;
  readonly sort: Document;
}

/** The queries in a command: a find's, a write's (`q` of each statement), an aggregate's `$match`. */
function queriesOf(event: CommandStartedEvent): QueryShape[] {
  const command = event.command;
  const shape = (collection: unknown, filter: unknown, sort: unknown): QueryShape => ({
    collection: String(collection),
    filter: isDocument(filter) ? filter : {},
    // The driver sends a find's sort as a Map, to keep the order of its keys.
    sort: sort instanceof Map ? Object.fromEntries(sort) : isDocument(sort) ? sort : {},
  });
  switch (event.commandName) {
    case 'find':
      return [shape(command['find'], command['filter'], command['sort'])];
    case 'findAndModify':
      return [shape(command['findAndModify'], command['query'], command['sort'])];
    case 'distinct':
      return [shape(command['distinct'], command['query'], undefined)];
    case 'update':
    case 'delete': {
      const statements: unknown = command[event.commandName === 'update' ? 'updates' : 'deletes'];
      return (Array.isArray(statements) ? statements : []).map((statement: unknown) =>
        shape(command[event.commandName], isDocument(statement) ? statement['q'] : {}, undefined),
      );
    }
    case 'aggregate': {
      const [first, second] = Array.isArray(command['pipeline']) ? command['pipeline'] : [];
      return [
        shape(
          command['aggregate'],
          isDocument(first) ? first['$match'] : undefined,
          isDocument(second) ? second['$sort'] : undefined,
        ),
      ];
    }
    default:
      return [];
  }
}

/** A plain object: a filter or an operator, not a value such as an ObjectId or a Date. */
function isDocument(value: unknown): value is Document {
  return (
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
  );
}

const EQUALITY_OPERATORS = new Set(['$eq', '$in']);

/**
 * A filter's fields: those it pins to values (equality, `$in`) and those it only bounds
 * (ranges, `$ne`, `$exists`, or any field under `$or`).
 */
function fieldsOf(filter: Document): { equality: Set<string>; bounded: Set<string> } {
  const equality = new Set<string>();
  const bounded = new Set<string>();
  for (const [field, condition] of Object.entries(filter)) {
    if (field === '$or' || field === '$and') {
      for (const branch of Array.isArray(condition) ? condition : []) {
        const inner = fieldsOf(isDocument(branch) ? branch : {});
        for (const name of [...inner.equality, ...inner.bounded]) bounded.add(name);
      }
    } else if (
      isDocument(condition) &&
      Object.keys(condition).some((key) => key.startsWith('$')) &&
      !Object.keys(condition).every((key) => EQUALITY_OPERATORS.has(key))
    ) {
      bounded.add(field);
    } else {
      equality.add(field);
    }
  }
  for (const name of equality) bounded.delete(name);
  return { equality, bounded };
}

/**
 * Whether mongod can answer `query` from the index with this key: it narrows the scan by a
 * leading key the filter pins (or, with nothing pinned, bounds or sorts on the first key), and
 * when the query sorts, the index's order is the sort, after keys the filter pins, or its
 * exact reverse. Then a limited query reads only as many entries as it returns.
 */
function serves(key: Document, query: QueryShape): boolean {
  const keys = Object.entries(key);
  const sort = Object.entries(query.sort);
  const { equality, bounded } = fieldsOf(query.filter);
  let pinned = 0;
  while (pinned < keys.length && equality.has(keys[pinned]![0])) pinned += 1;
  if (equality.size > 0 && pinned === 0) return false;
  if (equality.size === 0 && sort.length === 0) return bounded.has(keys[0]?.[0] ?? '');
  if (sort.length === 0) return true;
  // The sort may start on a pinned key (a sort by it is free) or right after the pinned ones.
  return Array.from({ length: pinned + 1 }, (_, start) => keys.slice(start)).some((rest) =>
    sortsBy(rest, sort),
  );
}

/** Whether index keys, read forwards or backwards, begin with the sort's fields in its order. */
function sortsBy(keys: [string, unknown][], sort: [string, unknown][]): boolean {
  if (keys.length < sort.length) return false;
  const pairs = sort.map(([field, direction], i) => ({ field, direction, key: keys[i]! }));
  if (pairs.some(({ field, key }) => key[0] !== field)) return false;
  const forwards = pairs.every(({ direction, key }) => Number(key[1]) === Number(direction));
  const backwards = pairs.every(({ direction, key }) => Number(key[1]) === -Number(direction));
  return forwards || backwards;
}

function describeQuery(query: QueryShape): string {
  return `${query.collection} ${JSON.stringify(query.filter)} sort ${JSON.stringify(query.sort)}`;
}

/** The queries one step of a repository sends, and the indexes of the collections it reads. */
interface Step {
  readonly name: string;
  readonly queries: readonly QueryShape[];
}

/**
 * Records the queries `client` sends to `db` while each step runs. A step that sends none is a
 * failure of the test itself: it would check nothing.
 */
async function recordSteps(
  client: MongoClient,
  db: Db,
  steps: readonly (readonly [string, () => Promise<unknown>])[],
): Promise<Step[]> {
  const recorded: Step[] = [];
  for (const [name, run] of steps) {
    const queries: QueryShape[] = [];
    const record = (event: CommandStartedEvent) => {
      if (event.databaseName === db.databaseName) queries.push(...queriesOf(event));
    };
    client.on('commandStarted', record);
    try {
      await run();
    } finally {
      client.off('commandStarted', record);
    }
    recorded.push({ name, queries });
  }
  return recorded;
}

/** The key of every index of every collection in `db`, by collection. */
async function indexesOf(db: Db): Promise<Map<string, { name: string; key: Document }[]>> {
  const byCollection = new Map<string, { name: string; key: Document }[]>();
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    const indexes = await db.collection(name).listIndexes().toArray();
    byCollection.set(
      name,
      indexes.map((index) => ({ name: String(index['name']), key: index['key'] as Document })),
    );
  }
  return byCollection;
}

/** The queries of `steps` that no index of `indexes` serves, each with the step that sent it. */
function unserved(
  steps: readonly Step[],
  indexes: Map<string, { name: string; key: Document }[]>,
): string[] {
  return steps.flatMap((step) =>
    step.queries
      .filter((query) => !(indexes.get(query.collection) ?? []).some((i) => serves(i.key, query)))
      .map((query) => `${step.name}: ${describeQuery(query)}`),
  );
}

/**
 * The checks, for one subgraph's database: run after `steps` have been recorded by the
 * `beforeAll` of the caller's describe.
 */
function checkIndexes(subject: () => { db: Db; steps: readonly Step[] }): void {
  it('sends at least one query from every step', () => {
    const { steps } = subject();
    expect(steps.filter((step) => step.queries.length === 0).map((step) => step.name)).toEqual([]);
  });

  it('has an index for every query it sends', async () => {
    const { db, steps } = subject();
    expect(unserved(steps, await indexesOf(db))).toEqual([]);
  });

  it('leaves a query without an index when any one of its indexes is dropped', async () => {
    const { db, steps } = subject();
    const indexes = await indexesOf(db);
    const needless: string[] = [];
    for (const [collection, list] of indexes) {
      for (const index of list.filter((i) => i.name !== '_id_')) {
        const without = new Map(indexes).set(
          collection,
          list.filter((i) => i !== index),
        );
        if (unserved(steps, without).length === 0) needless.push(`${collection}.${index.name}`);
      }
    }
    expect(needless).toEqual([]);
  });
}

let client: MongoClient;
const databases: Db[] = [];

beforeAll(async () => {
  client = new MongoClient(inject('mongodbUri'), { monitorCommands: true });
  await client.connect();
});
afterAll(async () => {
  for (const db of databases) await db.dropDatabase();
  await client?.close();
});

function freshDb(subgraph: string): Db {
  const db = client.db(`t_indexes_${subgraph}_${randomBytes(3).toString('hex')}`);
  databases.push(db);
  return db;
}

describe('the orders subgraph', () => {
  let db: Db;
  let steps: Step[];

  beforeAll(async () => {
    db = freshDb('orders');
    const orders = createOrderRepository(db);
    const keys = createIdempotencyKeyRepository(db);
    const requestIds = createRequestIdStore(db, { maxSkewSeconds: 60, maxTimeMs: 2_000 });
    await orders.ensureIndexes();
    await keys.ensureIndexes();
    await requestIds.ensureIndexes();
    const placed = await orders.insert({ userId: 'u1', item: 'tea', address: '1 Main St' });
    const later = await orders.insert({ userId: 'u2', item: 'cake', address: '2 Main St' });
    const position = { createdAt: later.createdAt, id: later._id };
    const claim = {
      userId: 'u1',
      key: 'k1',
      inputHash: 'h',
      orderId: newOrderId(),
      createdAt: new Date(0),
    };
    await keys.claim(claim);
    await requestIds.claim(randomBytes(16).toString('base64url'), 0);
    steps = await recordSteps(client, db, [
      ['findById', () => orders.findById(placed._id)],
      ['findByIds', () => orders.findByIds([placed._id, later._id])],
      ["list: a user's orders", () => orders.list('u1', 21, undefined)],
      ["list: a user's orders after a cursor", () => orders.list('u1', 21, position)],
      ["list: everyone's orders", () => orders.list(undefined, 21, undefined)],
      ["list: everyone's orders after a cursor", () => orders.list(undefined, 21, position)],
      ['listForUsers', () => orders.listForUsers(['u1', 'u2'], 21, undefined)],
      ['listForUsers after a cursor', () => orders.listForUsers(['u1', 'u2'], 21, position)],
      ['insertOnce of an order stored already', () => orders.insertOnce(placed)],
      ['claim of a key claimed already', () => keys.claim(claim)],
      ['deleteClaimedBefore', () => keys.deleteClaimedBefore(new Date())],
      ['request id sweep', () => requestIds.sweep()],
    ]);
  });

  checkIndexes(() => ({ db, steps }));
});

describe('the users subgraph (login throttling not included)', () => {
  let db: Db;
  let steps: Step[];

  beforeAll(async () => {
    db = freshDb('users');
    const users = createUserRepository(db);
    const tokens = createRefreshTokenRepository(db);
    const revocations = createRevocationRepository(db);
    await users.ensureIndexes();
    await tokens.ensureIndexes();
    await revocations.ensureIndexes();
    const user = await users.insert({
      username: 'someone',
      passwordHash: 'not a hash',
      fullName: null,
      email: null,
      role: 'USER',
    });
    const expired = new Date(Date.now() - 60_000);
    await tokens.insert({
      _id: 'family.0',
      familyId: 'family',
      generation: 0,
      jti: 'jti',
      tokenHash: randomBytes(32).toString('hex'),
      userId: user._id,
      createdAt: new Date(Date.now() - 120_000),
      expiresAt: expired,
      revokedAt: null,
    });
    await revocations.add([{ sid: 'family' }], expired);
    const seeds = [
      {
        username: 'seed',
        password: 'long-enough',
        fullName: null,
        email: null,
        role: 'USER' as const,
      },
    ];
    const logger = createLogger('test', 'silent');
    steps = await recordSteps(client, db, [
      ['findByIds', () => users.findByIds([user._id, new ObjectId()])],
      ['findCredentials', () => users.findCredentials('someone')],
      ['list', () => users.list(21, undefined)],
      ['list after a cursor', () => users.list(21, user._id)],
      ['seedUsers', () => seedUsers(db, users, seeds, createPasswordHasher(), logger)],
      ['update', () => users.update(user._id, { fullName: 'Some One' })],
      ['countAdmins', () => users.countAdmins()],
      ['findByHash', () => tokens.findByHash('no such hash')],
      ['isFamilyRevoked', () => tokens.isFamilyRevoked('family')],
      ['familiesOf', () => tokens.familiesOf(user._id, new Date(0))],
      ['revokeFamily', () => tokens.revokeFamily('family')],
      ['revokeUser', () => tokens.revokeUser(user._id)],
      ['deleteExpiredFamilies', () => tokens.deleteExpiredFamilies(user._id)],
      ['revocations: add', () => revocations.add([{ sid: 'other', upTo: 3 }])],
      ['revocations: page', () => revocations.page({ at: new Date(0), id: '' }, 101)],
      ['revocations: deleteOlderThan', () => revocations.deleteOlderThan(new Date())],
      ['delete', () => users.delete(user._id)],
    ]);
  });

  checkIndexes(() => ({ db, steps }));
});
