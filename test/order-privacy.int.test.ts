import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';

/**
 * Issue #11: a user must not learn which order ids exist, nor how many orders everyone places.
 * Before, another user's order answered FORBIDDEN and a missing one null, and ids were the
 * driver's ObjectIds, whose counter goes up by one per order.
 */
let graph: RunningGraph;
let alice: { token: string };
let bob: { token: string };

beforeAll(async () => {
  graph = await startGraph('order_privacy');
  const admin = await graph.login('admin', 'a');
  for (const username of ['alice', 'bob']) {
    expectOk(
      await graph.request(
        graph.routerUrl,
        'mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }',
        { token: admin.token, variables: { i: { username, password: 'a-long-password' } } },
      ),
    );
  }
  [alice, bob] = [
    await graph.login('alice', 'a-long-password'),
    await graph.login('bob', 'a-long-password'),
  ];
});
afterAll(() => graph?.stop());

async function place(token: string): Promise<string> {
  const data = expectOk(
    await graph.request(
      graph.routerUrl,
      'mutation { createOrder(input: { item: "x", address: "1 Main St" }) { id } }',
      { token },
    ),
  );
  return (data['createOrder'] as { id: string }).id;
}

describe('orders', () => {
  it('answer another user’s id exactly as a missing one', async () => {
    const alicesOrder = await place(alice.token);
    const ask = (id: string) =>
      graph.request(graph.routerUrl, 'query ($id: ID!) { order(id: $id) { id item } }', {
        token: bob.token,
        variables: { id },
      });
    const [someoneElses, missing] = [await ask(alicesOrder), await ask('0123456789abcdef01234567')];
    expect(someoneElses.body).toEqual({ data: { order: null } });
    expect(missing.body).toEqual(someoneElses.body);
    expect(missing.status).toBe(someoneElses.status);
  });

  it('have ids that say nothing of the orders placed in between', async () => {
    const ids = [await place(alice.token), await place(bob.token), await place(alice.token)];
    // An ObjectId's last three bytes count up by one per id made by a process.
    const counters = ids.map((id) => parseInt(id.slice(18), 16));
    const steps = counters.slice(1).map((counter, i) => counter - (counters[i] ?? 0));
    expect(steps).not.toEqual([1, 1]);
    // Nor its first four the second they were made in.
    const seconds = ids.map((id) => parseInt(id.slice(0, 8), 16));
    const now = Date.now() / 1000;
    expect(seconds.filter((s) => Math.abs(s - now) < 600).length).toBeLessThan(3);
  });
});
