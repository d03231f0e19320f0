import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';

/**
 * Issue #11: deleting a user keeps their orders, and every list that shows them still
 * resolves. Before, the admin's `orders { ... user { username } }` came back `orders: null`, with
 * no error, once any listed order's owner was deleted: `Order.user` is non-null.
 */
let graph: RunningGraph;
let adminToken: string;

beforeAll(async () => {
  graph = await startGraph('deleted_user');
  adminToken = (await graph.login('admin', 'a')).token;
});
afterAll(() => graph?.stop());

const asAdmin = (query: string, variables?: Record<string, unknown>) =>
  graph.request(graph.routerUrl, query, { token: adminToken, ...(variables ? { variables } : {}) });

describe('orders of a deleted user', () => {
  it('stay in the admin’s list, with an owner that is marked deleted and says nothing else', async () => {
    const created = expectOk(
      await asAdmin('mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }', {
        i: { username: 'leaving', password: 'a-long-password', email: 'leaving@example.com' },
      }),
    );
    const userId = (created['createUser'] as { id: string }).id;
    const session = await graph.login('leaving', 'a-long-password');
    const placed = expectOk(
      await graph.request(
        graph.routerUrl,
        'mutation { createOrder(input: { item: "left behind", address: "1 Main St" }) { id } }',
        { token: session.token },
      ),
    );
    const orderId = (placed['createOrder'] as { id: string }).id;
    expectOk(await asAdmin('mutation ($id: ID!) { deleteUser(id: $id) }', { id: userId }));

    const listed = expectOk(
      await asAdmin(
        '{ orders(first: 100) { edges { node { id item user { id username email deleted } } } } }',
      ),
    );
    const edges = (listed['orders'] as { edges: { node: Record<string, unknown> }[] }).edges;
    expect(edges.map((edge) => edge.node)).toContainEqual({
      id: orderId,
      item: 'left behind',
      user: { id: userId, username: '(deleted user)', email: null, deleted: true },
    });
    // Everyone else's orders resolve as before.
    for (const { node } of edges.filter((edge) => edge.node['id'] !== orderId)) {
      expect(node['user']).toMatchObject({ deleted: false });
    }

    const one = expectOk(
      await asAdmin('query ($id: ID!) { order(id: $id) { user { username deleted } } }', {
        id: orderId,
      }),
    );
    expect(one).toEqual({ order: { user: { username: '(deleted user)', deleted: true } } });
    // The account itself is gone.
    expect(
      expectOk(await asAdmin('query ($id: ID!) { user(id: $id) { id } }', { id: userId })),
    ).toEqual({ user: null });
  });
});
