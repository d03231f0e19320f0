import { parse, visit } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { at, expectOk } from './expect.js';
import { startGraph, type GraphQLResponse, type RunningGraph } from './graph.js';

/**
 * Issue #4: the router enforces `@authenticated` and `@requiresScopes` from the supergraph before
 * any subgraph request, with Apollo Router's semantics. Stock Apollo Gateway cannot do this; see
 * router/src/authorization. The subgraphs' own enforcement is covered by authorization.int.test.ts.
 */
let graph: RunningGraph;
let user: { token: string; userId: string };
let admin: { token: string; userId: string };

beforeAll(async () => {
  graph = await startGraph('router_authorization');
  user = await graph.login('user', 'u');
  admin = await graph.login('admin', 'a');
});
afterAll(() => graph?.stop());

/** Subgraph requests made from here on, by subgraph. */
let sent: () => { users: number; orders: number };
beforeEach(() => {
  const before = {
    users: graph.subgraphRequests.users.length,
    orders: graph.subgraphRequests.orders.length,
  };
  sent = () => ({
    users: graph.subgraphRequests.users.length - before.users,
    orders: graph.subgraphRequests.orders.length - before.orders,
  });
});

const query = (q: string, token?: string, variables?: Record<string, unknown>) =>
  graph.request(graph.routerUrl, q, {
    ...(token ? { token } : {}),
    ...(variables ? { variables } : {}),
  });

function unauthorizedPaths(response: GraphQLResponse): (string | number)[][] {
  expect(response.status).toBe(200);
  for (const error of response.body.errors ?? []) {
    expect(error.extensions?.['code'], JSON.stringify(error)).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    expect(error.message).toMatch(/\S/);
  }
  return (response.body.errors ?? []).map((error) => error.path ?? []);
}

describe('a field the caller may not see', () => {
  it('is refused with UNAUTHORIZED_FIELD_OR_TYPE, and no subgraph is asked at all', async () => {
    const response = await query('{ me { id } }');
    expect(unauthorizedPaths(response)).toEqual([['me']]);
    // Nothing was left to run: Apollo Router answers that with `data: null`.
    expect(response.body.data).toBeNull();
    expect(response.body.errors?.[0]?.message).toMatch(/log in/i);
    expect(sent()).toEqual({ users: 0, orders: 0 });
  });

  it('is taken out while the rest of the operation resolves, asking only for the rest', async () => {
    const response = await query(
      '{ me { username } users(first: 1) { edges { node { id } } } secret: orders(first: 1) { edges { node { id } } } }',
      user.token,
    );
    expect(unauthorizedPaths(response)).toEqual([['users']]);
    expect(response.body.errors?.[0]?.message).toMatch(/scope admin/);
    expect(response.body.data).toEqual({
      me: { username: 'user' },
      users: null,
      secret: { edges: [] },
    });
    // One request to users, for `me` alone: the operation it was sent has no `users` field.
    expect(sent()).toEqual({ users: 1, orders: 1 });
    const [subgraphRequest] = graph.subgraphRequests.users.slice(-1);
    const sentQuery = parse(JSON.parse(subgraphRequest?.body ?? '{}').query);
    const fieldsSent: string[] = [];
    visit(sentQuery, { Field: (node) => void fieldsSent.push(node.name.value) });
    expect(fieldsSent).toContain('me');
    expect(fieldsSent).not.toContain('users');
  });

  it('is reported under its alias, once per alias', async () => {
    const response = await query(
      '{ a: users(first: 1) { pageInfo { hasNextPage } } b: users { pageInfo { hasNextPage } } }',
      user.token,
    );
    expect(unauthorizedPaths(response)).toEqual([['a'], ['b']]);
    expect(response.body.data).toBeNull();
    expect(sent()).toEqual({ users: 0, orders: 0 });
  });

  it('is taken out of named fragments and inline fragments as well', async () => {
    const response = await query(
      `query Both { ...Admin ... on Query { me { id } } }
       fragment Admin on Query { users(first: 1) { edges { node { id } } } }`,
      user.token,
    );
    expect(unauthorizedPaths(response)).toEqual([['users']]);
    expect(response.body.data).toEqual({ users: null, me: { id: user.userId } });
  });

  it('nulls its parent when it is non-null, as the GraphQL spec has errors propagate', async () => {
    const response = await query(
      'mutation { createOrder(input: { item: "x", address: "y" }) { id } }',
    );
    expect(unauthorizedPaths(response)).toEqual([['createOrder']]);
    expect(response.body.data).toBeNull();
    expect(sent()).toEqual({ users: 0, orders: 0 });
    expect(await graph.ordersDb.collection('orders').countDocuments({ item: 'x' })).toBe(0);
  });

  it('never runs a denied mutation, even next to an allowed one', async () => {
    const response = await query(
      'mutation { deleteUser(id: "000000000000000000000000") createOrder(input: { item: "allowed", address: "y" }) { item } }',
      user.token,
    );
    // `deleteUser: Boolean!` nulls the whole data, but the caller's own order was placed.
    expect(unauthorizedPaths(response)).toEqual([['deleteUser']]);
    expect(response.body.data).toBeNull();
    expect(sent()).toEqual({ users: 0, orders: 1 });
    expect(await graph.ordersDb.collection('orders').countDocuments({ item: 'allowed' })).toBe(1);
  });

  it('tells an authenticated caller which scope is missing', async () => {
    const response = await query(
      'mutation { deleteUser(id: "000000000000000000000000") }',
      user.token,
    );
    expect(response.body.errors?.[0]?.message).toBe(
      'Your access token lacks the scope admin, which Mutation.deleteUser requires.',
    );
  });
});

describe('a caller who may see everything', () => {
  it('gets the operation untouched', async () => {
    const data = expectOk(
      await query('{ me { username } users(first: 1) { edges { node { id } } } }', admin.token),
    );
    expect(at({ data }, ['me', 'username'])).toBe('admin');
    expect(at({ data }, ['users', 'edges', 0, 'node', 'id'])).toMatch(/^[0-9a-f]{24}$/);
  });

  it('does not share a query plan with a caller who may see less, or the other way round', async () => {
    // The gateway caches plans by query hash. The same document, admin first, then a user, then
    // the admin again: each must get the plan for what they may see, not the cached one.
    const SAME = '{ me { username } users(first: 1) { edges { node { username } } } }';
    const asAdmin = async () => {
      const data = expectOk(await query(SAME, admin.token));
      expect(at({ data }, ['users', 'edges', 0, 'node', 'username'])).toBe('admin');
    };
    await asAdmin();
    const denied = await query(SAME, user.token);
    expect(unauthorizedPaths(denied)).toEqual([['users']]);
    expect(denied.body.data).toEqual({ me: { username: 'user' }, users: null });
    await asAdmin();
  });
});
