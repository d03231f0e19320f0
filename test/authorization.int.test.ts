import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentity, type Identity } from '@supergraph/identity';
import { at, expectDenied, expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';

/**
 * Every authorization rule of issue #2, for four callers: anonymous, a user, another user and
 * an admin. Through the router, and straight to the subgraphs' `_entities` with a valid router
 * signature but another caller's identity.
 */
let graph: RunningGraph;
interface Caller {
  token: string;
  id: string;
  identity: Identity;
}
let caller: Record<'user' | 'other' | 'admin', Caller>;
let userOrderId: string;
let otherOrderId: string;

const CREATE_ORDER = `mutation ($item: String!) {
  createOrder(input: { item: $item, address: "1 Main St" }) { id item user { id } }
}`;

beforeAll(async () => {
  graph = await startGraph('authorization');
  const admin = await graph.login('admin', 'a');
  await graph.request(
    graph.routerUrl,
    `mutation { createUser(input: { username: "other", password: "other-password", email: "other@example.com" }) { id } }`,
    { token: admin.token },
  );
  const user = await graph.login('user', 'u');
  const other = await graph.login('other', 'other-password');
  const asCaller = ({ token, userId }: typeof admin, role: 'ADMIN' | 'USER'): Caller => ({
    token,
    id: userId,
    identity: createIdentity(userId, role),
  });
  caller = {
    admin: asCaller(admin, 'ADMIN'),
    user: asCaller(user, 'USER'),
    other: asCaller(other, 'USER'),
  };

  const mine = await graph.request(graph.routerUrl, CREATE_ORDER, {
    token: user.token,
    variables: { item: 'user-order' },
  });
  userOrderId = at(mine.body, ['createOrder', 'id']) as string;
  const theirs = await graph.request(graph.routerUrl, CREATE_ORDER, {
    token: other.token,
    variables: { item: 'other-order' },
  });
  otherOrderId = at(theirs.body, ['createOrder', 'id']) as string;
  expect(userOrderId).toMatch(/^[0-9a-f]{24}$/);
  expect(otherOrderId).toMatch(/^[0-9a-f]{24}$/);
});
afterAll(() => graph?.stop());

const query = (q: string, token?: string, variables?: Record<string, unknown>) =>
  graph.request(graph.routerUrl, q, {
    ...(token ? { token } : {}),
    ...(variables ? { variables } : {}),
  });

describe('Query.me (@authenticated)', () => {
  it('is UNAUTHENTICATED for an anonymous caller', async () => {
    expectDenied(await query('{ me { id } }'), ['me'], 'UNAUTHENTICATED');
  });
  it.each(['user', 'other', 'admin'] as const)('is the caller for %s', async (who) => {
    expect(expectOk(await query('{ me { id } }', caller[who].token))).toEqual({
      me: { id: caller[who].id },
    });
  });
});

describe('Query.user (@policy self | admin) and User.email (@policy self | admin)', () => {
  const USER = 'query ($id: ID!) { user(id: $id) { id username email } }';
  it('is UNAUTHENTICATED for an anonymous caller', async () => {
    expectDenied(await query(USER, undefined, { id: caller.user.id }), ['user'], 'UNAUTHENTICATED');
  });
  it('lets a user read themself, email included', async () => {
    const data = expectOk(await query(USER, caller.user.token, { id: caller.user.id }));
    expect(data).toEqual({ user: { id: caller.user.id, username: 'user', email: null } });
  });
  it('is FORBIDDEN for another user', async () => {
    expectDenied(
      await query(USER, caller.other.token, { id: caller.user.id }),
      ['user'],
      'FORBIDDEN',
    );
  });
  it('lets an admin read anyone, email included', async () => {
    const data = expectOk(await query(USER, caller.admin.token, { id: caller.other.id }));
    expect(data).toEqual({
      user: { id: caller.other.id, username: 'other', email: 'other@example.com' },
    });
  });
});

describe('Query.users (@requiresScopes admin)', () => {
  const USERS = '{ users(first: 10) { edges { node { username } } pageInfo { hasNextPage } } }';
  it('is UNAUTHENTICATED for an anonymous caller', async () => {
    expectDenied(await query(USERS), ['users'], 'UNAUTHENTICATED');
  });
  it.each(['user', 'other'] as const)('is FORBIDDEN for %s', async (who) => {
    expectDenied(await query(USERS, caller[who].token), ['users'], 'FORBIDDEN');
  });
  it('lists everyone for an admin', async () => {
    const data = expectOk(await query(USERS, caller.admin.token));
    const names = (at({ data }, ['users', 'edges']) as { node: { username: string } }[]).map(
      (e) => e.node.username,
    );
    expect(names.sort()).toEqual(['admin', 'other', 'user']);
  });
});

describe('Query.order (@authenticated, Order @policy owner | admin)', () => {
  const ORDER = 'query ($id: ID!) { order(id: $id) { id item } }';
  it('is UNAUTHENTICATED for an anonymous caller', async () => {
    expectDenied(await query(ORDER, undefined, { id: userOrderId }), ['order'], 'UNAUTHENTICATED');
  });
  it('lets the owner read it', async () => {
    expect(expectOk(await query(ORDER, caller.user.token, { id: userOrderId }))).toEqual({
      order: { id: userOrderId, item: 'user-order' },
    });
  });
  it('is FORBIDDEN for another user', async () => {
    expectDenied(
      await query(ORDER, caller.other.token, { id: userOrderId }),
      ['order'],
      'FORBIDDEN',
    );
  });
  it('lets an admin read it', async () => {
    expect(expectOk(await query(ORDER, caller.admin.token, { id: userOrderId }))).toEqual({
      order: { id: userOrderId, item: 'user-order' },
    });
  });
});

describe('Query.orders (@authenticated; a USER sees their own, an ADMIN all)', () => {
  const ORDERS = '{ orders(first: 10) { edges { node { id } } } }';
  const ids = (data: Record<string, unknown>) =>
    (at({ data }, ['orders', 'edges']) as { node: { id: string } }[])
      .map((edge) => edge.node.id)
      .sort();
  it('is UNAUTHENTICATED for an anonymous caller', async () => {
    expectDenied(await query(ORDERS), ['orders'], 'UNAUTHENTICATED');
  });
  it('shows each user only their own', async () => {
    expect(ids(expectOk(await query(ORDERS, caller.user.token)))).toEqual([userOrderId]);
    expect(ids(expectOk(await query(ORDERS, caller.other.token)))).toEqual([otherOrderId]);
  });
  it('shows an admin every order', async () => {
    expect(ids(expectOk(await query(ORDERS, caller.admin.token)))).toEqual(
      [userOrderId, otherOrderId].sort(),
    );
  });
});

describe('User.orders (@policy self | admin), joined across subgraphs', () => {
  const MY_ORDERS = '{ me { username orders(first: 5) { edges { node { id item } } } } }';
  const USER_ORDERS =
    'query ($id: ID!) { user(id: $id) { username orders(first: 5) { edges { node { id } } } } }';
  it('gives a user their own orders through me', async () => {
    expect(expectOk(await query(MY_ORDERS, caller.user.token))).toEqual({
      me: {
        username: 'user',
        orders: { edges: [{ node: { id: userOrderId, item: 'user-order' } }] },
      },
    });
  });
  it('gives an admin any user’s orders', async () => {
    expect(expectOk(await query(USER_ORDERS, caller.admin.token, { id: caller.other.id }))).toEqual(
      {
        user: { username: 'other', orders: { edges: [{ node: { id: otherOrderId } }] } },
      },
    );
  });
  it('lets the owner follow Order.user back to themself', async () => {
    const data = expectOk(
      await query(
        'query ($id: ID!) { order(id: $id) { user { id username } } }',
        caller.user.token,
        { id: userOrderId },
      ),
    );
    expect(data).toEqual({ order: { user: { id: caller.user.id, username: 'user' } } });
  });
});

describe('mutations', () => {
  it('createOrder is UNAUTHENTICATED for an anonymous caller and writes nothing', async () => {
    const before = await graph.ordersDb.collection('orders').countDocuments();
    const response = await query(CREATE_ORDER, undefined, { item: 'anonymous' });
    expectDenied(response, ['createOrder'], 'UNAUTHENTICATED');
    expect(await graph.ordersDb.collection('orders').countDocuments()).toBe(before);
  });

  it('createOrder makes the caller the owner', async () => {
    const data = expectOk(await query(CREATE_ORDER, caller.other.token, { item: 'second' }));
    expect(at({ data }, ['createOrder', 'user', 'id'])).toBe(caller.other.id);
  });

  const CREATE_USER =
    'mutation ($u: String!) { createUser(input: { username: $u, password: "long-enough" }) { username role } }';
  it('createUser is UNAUTHENTICATED for an anonymous caller and FORBIDDEN for a user', async () => {
    expectDenied(
      await query(CREATE_USER, undefined, { u: 'anon-made' }),
      ['createUser'],
      'UNAUTHENTICATED',
    );
    expectDenied(
      await query(CREATE_USER, caller.user.token, { u: 'user-made' }),
      ['createUser'],
      'FORBIDDEN',
    );
    expect(
      await graph.usersDb
        .collection('users')
        .countDocuments({ username: { $in: ['anon-made', 'user-made'] } }),
    ).toBe(0);
  });
  it('createUser works for an admin', async () => {
    expect(expectOk(await query(CREATE_USER, caller.admin.token, { u: 'admin-made' }))).toEqual({
      createUser: { username: 'admin-made', role: 'USER' },
    });
  });

  const UPDATE =
    'mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { fullName role } }';
  it('updateUser lets a user change their own name, not someone else’s, and never their role', async () => {
    expect(
      expectOk(
        await query(UPDATE, caller.user.token, {
          id: caller.user.id,
          input: { fullName: 'User Person' },
        }),
      ),
    ).toEqual({
      updateUser: { fullName: 'User Person', role: 'USER' },
    });
    expectDenied(
      await query(UPDATE, caller.other.token, {
        id: caller.user.id,
        input: { fullName: 'Hacked' },
      }),
      ['updateUser'],
      'FORBIDDEN',
    );
    expectDenied(
      await query(UPDATE, caller.user.token, { id: caller.user.id, input: { role: 'ADMIN' } }),
      ['updateUser'],
      'FORBIDDEN',
    );
    expectDenied(
      await query(UPDATE, undefined, { id: caller.user.id, input: { fullName: 'Anon' } }),
      ['updateUser'],
      'UNAUTHENTICATED',
    );
    const stored = await graph.usersDb.collection('users').findOne({ username: 'user' });
    expect(stored).toMatchObject({ fullName: 'User Person', role: 'USER' });
  });
  it('updateUser lets an admin change anyone, role included', async () => {
    expect(
      expectOk(
        await query(UPDATE, caller.admin.token, {
          id: caller.other.id,
          input: { fullName: 'Other Person' },
        }),
      ),
    ).toEqual({
      updateUser: { fullName: 'Other Person', role: 'USER' },
    });
  });

  it('deleteUser is for admins only', async () => {
    const created = expectOk(
      await query(
        'mutation { createUser(input: { username: "to-delete", password: "long-enough" }) { id } }',
        caller.admin.token,
      ),
    );
    const id = at({ data: created }, ['createUser', 'id']);
    const DELETE = 'mutation ($id: ID!) { deleteUser(id: $id) }';
    expectDenied(await query(DELETE, undefined, { id }), ['deleteUser'], 'UNAUTHENTICATED');
    expectDenied(await query(DELETE, caller.user.token, { id }), ['deleteUser'], 'FORBIDDEN');
    expect(expectOk(await query(DELETE, caller.admin.token, { id }))).toEqual({ deleteUser: true });
    expect(expectOk(await query(DELETE, caller.admin.token, { id }))).toEqual({
      deleteUser: false,
    });
  });
});

describe('straight to _entities, validly signed, as each caller', () => {
  type Who = 'anonymous' | 'user' | 'other' | 'admin';
  interface EntityRule {
    subgraph: 'users' | 'orders';
    query: string;
    representation: () => Record<string, string>;
    /** Where the denial lands, below `_entities.0`. */
    deniedAt: (string | number)[];
    allowed: readonly Who[];
    expected: () => Record<string, unknown>;
  }
  const rules: Record<string, EntityRule> = {
    'User.email (@policy self | admin)': {
      subgraph: 'users',
      query: '... on User { id username email }',
      representation: () => ({ __typename: 'User', id: caller.user.id }),
      deniedAt: ['email'],
      allowed: ['user', 'admin'],
      expected: () => ({ id: caller.user.id, username: 'user', email: null }),
    },
    'Order (@policy owner | admin)': {
      subgraph: 'orders',
      query: '... on Order { id item }',
      representation: () => ({ __typename: 'Order', id: userOrderId }),
      deniedAt: [],
      allowed: ['user', 'admin'],
      expected: () => ({ id: userOrderId, item: 'user-order' }),
    },
    'User.orders (@policy self | admin)': {
      subgraph: 'orders',
      query: '... on User { id orders { edges { node { id } } } }',
      representation: () => ({ __typename: 'User', id: caller.user.id }),
      deniedAt: ['orders'],
      allowed: ['user', 'admin'],
      expected: () => ({ id: caller.user.id, orders: { edges: [{ node: { id: userOrderId } }] } }),
    },
  };
  const callers: Who[] = ['anonymous', 'user', 'other', 'admin'];

  describe.each(Object.entries(rules))('%s', (_name, rule) => {
    it.each(callers)('as %s', async (who) => {
      const response = await graph.requestSubgraph(
        rule.subgraph,
        `query ($r: [_Any!]!) { _entities(representations: $r) { ${rule.query} } }`,
        {
          identity: who === 'anonymous' ? null : caller[who].identity,
          variables: { r: [rule.representation()] },
        },
      );
      if (rule.allowed.includes(who)) {
        expect(expectOk(response)).toEqual({ _entities: [rule.expected()] });
      } else {
        const code = who === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN';
        expectDenied(response, ['_entities', 0, ...rule.deniedAt], code);
      }
    });
  });

  it('denies only what it must: another user still gets the public fields of a User', async () => {
    const response = await graph.requestSubgraph(
      'users',
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username email } } }',
      {
        identity: caller.other.identity,
        variables: { r: [{ __typename: 'User', id: caller.admin.id }] },
      },
    );
    expectDenied(response, ['_entities', 0, 'email'], 'FORBIDDEN');
    expect(at(response.body, ['_entities', 0])).toEqual({
      id: caller.admin.id,
      username: 'admin',
      email: null,
    });
  });
});
