import { randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, SWEEP_BATCH_SIZE } from '@supergraph/service-kit';
import {
  createIdempotencyKeyRepository,
  type IdempotencyKeyDocument,
} from '../subgraphs/orders/src/db/idempotencyKeys.js';
import { createOrderRepository } from '../subgraphs/orders/src/db/orders.js';
import { createOrderPlacement } from '../subgraphs/orders/src/placeOrder.js';
import { at, expectError, expectOk } from './expect.js';
import { startGraph, type GraphQLResponse, type RunningGraph } from './graph.js';

/**
 * `createOrder` with an `idempotencyKey`: a client told SERVICE_UNAVAILABLE cannot know whether
 * its order was stored, and retries; the retry must get that order, never a second one.
 */
let graph: RunningGraph;
let user: { token: string; userId: string };
let admin: { token: string; userId: string };

const CREATE_ORDER = `mutation ($input: CreateOrderInput!) {
  createOrder(input: $input) { id item address createdAt }
}`;
const HOUR = 60 * 60 * 1000;

beforeAll(async () => {
  graph = await startGraph('idempotency');
  [user, admin] = await Promise.all([graph.login('user', 'u'), graph.login('admin', 'a')]);
});
afterAll(() => graph?.stop());

const orders = () => graph.ordersDb.collection('orders');
const keys = () => graph.ordersDb.collection<IdempotencyKeyDocument>('idempotencyKeys');

function createOrder(
  token: string,
  input: { item: string; address: string; idempotencyKey?: string | null },
): Promise<GraphQLResponse> {
  return graph.request(graph.routerUrl, CREATE_ORDER, { token, variables: { input } });
}

function orderId(response: GraphQLResponse): string {
  expectOk(response);
  const id = at(response.body, ['createOrder', 'id']);
  if (typeof id !== 'string') throw new Error(`no order id in ${JSON.stringify(response.body)}`);
  return id;
}

/** A unique item name, so that counting a test's orders counts nobody else's. */
const uniqueItem = (name: string) => `${name} ${randomUUID().slice(0, 8)}`;

describe('createOrder with an idempotencyKey', () => {
  it('returns the first order, same id and fields, when the same key is sent again', async () => {
    const input = {
      item: uniqueItem('Kettle'),
      address: '1 Main St',
      idempotencyKey: randomUUID(),
    };
    const first = await createOrder(user.token, input);
    const again = await createOrder(user.token, input);
    expect(orderId(again)).toBe(orderId(first));
    expect(again.body.data).toEqual(first.body.data);
    expect(await orders().countDocuments({ item: input.item })).toBe(1);
  });

  it('places exactly one order for ten simultaneous requests with one key, and all get its id', async () => {
    const input = {
      item: uniqueItem('Racer'),
      address: '2 Track Rd',
      idempotencyKey: randomUUID(),
    };
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => createOrder(user.token, input)),
    );
    const ids = new Set(responses.map(orderId));
    expect(ids.size).toBe(1);
    expect(await orders().countDocuments({ item: input.item })).toBe(1);
    const [id] = ids;
    expect(await orders().findOne({ item: input.item })).toMatchObject({
      _id: new ObjectId(id),
      userId: user.userId,
    });
  });

  it('refuses the same key with other input with IDEMPOTENCY_KEY_REUSED, placing nothing', async () => {
    const idempotencyKey = randomUUID();
    const item = uniqueItem('Lamp');
    orderId(await createOrder(user.token, { item, address: '3 Light St', idempotencyKey }));
    for (const other of [
      { item: uniqueItem('Other'), address: '3 Light St' },
      { item, address: '4 Dark St' },
    ]) {
      const response = await createOrder(user.token, { ...other, idempotencyKey });
      expectError(
        response,
        'IDEMPOTENCY_KEY_REUSED',
        /send a new key; to retry an order, send the input it was first sent with/,
      );
      expect(response.body.errors?.[0]?.extensions?.['field']).toBe('idempotencyKey');
      expect(response.body.data).toBeNull();
    }
    expect(await orders().countDocuments({ userId: user.userId, address: '4 Dark St' })).toBe(0);
    // The input as stored counts: what trimming makes equal is the same order.
    orderId(
      await createOrder(user.token, { item: ` ${item} `, address: '3 Light St', idempotencyKey }),
    );
    expect(await orders().countDocuments({ item })).toBe(1);
  });

  it('keeps keys per user: two users with one key get an order each', async () => {
    const input = { item: uniqueItem('Shared'), address: '5 Common Rd', idempotencyKey: 'order-1' };
    const mine = orderId(await createOrder(user.token, input));
    const theirs = orderId(await createOrder(admin.token, input));
    expect(theirs).not.toBe(mine);
    expect(await orders().countDocuments({ item: input.item })).toBe(2);
    // And each user's retry still finds their own.
    expect(orderId(await createOrder(admin.token, input))).toBe(theirs);
    expect(orderId(await createOrder(user.token, input))).toBe(mine);
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(129)],
    ['with a space', 'my key'],
    ['with a slash', 'a/b'],
    ['not ASCII', 'clé'],
    ['an operator', '{"$gt":""}'],
  ])('refuses a key that is %s with BAD_USER_INPUT naming the field', async (_case, key) => {
    const item = uniqueItem('Invalid');
    const response = await createOrder(user.token, {
      item,
      address: '6 Wrong Way',
      idempotencyKey: key,
    });
    expectError(response, 'BAD_USER_INPUT', /"idempotencyKey" needs 1 to 128 characters/);
    expect(response.body.errors?.[0]?.extensions?.['field']).toBe('idempotencyKey');
    expect(await orders().countDocuments({ item })).toBe(0);
  });

  it('accepts the longest key, 128 characters of every allowed kind', async () => {
    const idempotencyKey = `Az09._:-${'x'.repeat(120)}`;
    const input = { item: uniqueItem('Long key'), address: '7 Edge St', idempotencyKey };
    expect(orderId(await createOrder(user.token, input))).toBe(
      orderId(await createOrder(user.token, input)),
    );
  });

  it('completes the order when the request that claimed the key died before writing it', async () => {
    // What a crash, or an order insert whose answer was lost, leaves behind: the claim alone.
    const idempotencyKey = randomUUID();
    const item = uniqueItem('Orphan');
    const input = { item, address: '8 Lost Lane', idempotencyKey };
    const orphan = orderId(await createOrder(user.token, input));
    await orders().deleteOne({ _id: new ObjectId(orphan) });
    expect(await keys().countDocuments({ key: idempotencyKey })).toBe(1);

    const retries = await Promise.all(
      Array.from({ length: 5 }, () => createOrder(user.token, input)),
    );
    expect(new Set(retries.map(orderId))).toEqual(new Set([orphan]));
    expect(await orders().countDocuments({ item })).toBe(1);
  });
});

describe('idempotency keys are kept for 24 hours, then swept', () => {
  const logger = createLogger('test', 'silent');

  it('keeps a key 23 h 59 min old and sweeps one 24 h 1 min old, by an injected clock', async () => {
    const kept = {
      item: uniqueItem('Day old'),
      address: '9 Late Rd',
      idempotencyKey: randomUUID(),
    };
    const gone = {
      item: uniqueItem('Too old'),
      address: '9 Late Rd',
      idempotencyKey: randomUUID(),
    };
    const keptId = orderId(await createOrder(user.token, kept));
    orderId(await createOrder(user.token, gone));
    const claimedAt = new Date();
    await keys().updateOne({ key: kept.idempotencyKey }, { $set: { createdAt: claimedAt } });
    await keys().updateOne(
      { key: gone.idempotencyKey },
      { $set: { createdAt: new Date(claimedAt.getTime() - 2 * 60_000) } },
    );
    const placement = createOrderPlacement({
      orders: createOrderRepository(graph.ordersDb),
      keys: createIdempotencyKeyRepository(graph.ordersDb),
      logger,
      // 23 h 59 min after the first claim, 24 h 1 min after the second.
      now: () => new Date(claimedAt.getTime() + 24 * HOUR - 60_000),
    });
    await placement.sweep();
    expect(await keys().countDocuments({ key: kept.idempotencyKey })).toBe(1);
    expect(await keys().countDocuments({ key: gone.idempotencyKey })).toBe(0);
    expect(orderId(await createOrder(user.token, kept))).toBe(keptId);
  });

  it('sweeps keys older than 24 hours, in batches, and the key then places a new order', async () => {
    const input = {
      item: uniqueItem('Expired'),
      address: '10 Past St',
      idempotencyKey: randomUUID(),
    };
    const first = orderId(await createOrder(user.token, input));
    // More expired keys than one batch deletes, and a live one that must stay.
    const old = new Date(Date.now() - 24 * HOUR - 60_000);
    await keys().updateOne({ key: input.idempotencyKey }, { $set: { createdAt: old } });
    const filler = Array.from({ length: SWEEP_BATCH_SIZE * 2 + 5 }, (_, i) => ({
      _id: new ObjectId(),
      userId: 'sweep-test',
      key: `old-${i}`,
      inputHash: 'x',
      orderId: new ObjectId(),
      createdAt: old,
    }));
    await keys().insertMany(filler);
    const live = { item: uniqueItem('Live'), address: '11 Now St', idempotencyKey: randomUUID() };
    const liveId = orderId(await createOrder(user.token, live));

    const placement = createOrderPlacement({
      orders: createOrderRepository(graph.ordersDb),
      keys: createIdempotencyKeyRepository(graph.ordersDb),
      logger,
    });
    expect(await placement.sweep()).toBeGreaterThanOrEqual(filler.length + 1);
    expect(
      await keys().countDocuments({ createdAt: { $lt: new Date(Date.now() - 24 * HOUR) } }),
    ).toBe(0);
    expect(await keys().countDocuments({ key: input.idempotencyKey })).toBe(0);
    expect(orderId(await createOrder(user.token, live))).toBe(liveId);
    // The order stays; only its key went. The key is free again, for a new order.
    expect(await orders().countDocuments({ _id: new ObjectId(first) })).toBe(1);
    expect(orderId(await createOrder(user.token, input))).not.toBe(first);
  });
});
