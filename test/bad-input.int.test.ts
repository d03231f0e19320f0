import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentity } from '@supergraph/identity';
import { expectError } from './expect.js';
import type { GraphQLResponse } from './graph.js';
import { startGraph, type RunningGraph } from './graph.js';

/**
 * Bad input gets a clear error with an `extensions.code`, never a 5xx or an internal error, and
 * changes nothing (issue #2 and the developers' guide).
 */
let graph: RunningGraph;
let admin: { token: string; userId: string };
let user: { token: string; userId: string };

beforeAll(async () => {
  graph = await startGraph('bad_input');
  admin = await graph.login('admin', 'a');
  user = await graph.login('user', 'u');
});
afterAll(() => graph?.stop());

const asAdmin = (query: string, variables?: Record<string, unknown>) =>
  graph.request(graph.routerUrl, query, {
    token: admin.token,
    ...(variables ? { variables } : {}),
  });

function expectUsefulErrors(response: GraphQLResponse): void {
  for (const error of response.body.errors ?? []) {
    expect(error.message.length).toBeGreaterThan(10);
    expect(JSON.stringify(error)).not.toMatch(
      /stacktrace|MongoServerError|127\.0\.0\.1|at .*\.ts:\d+/,
    );
  }
}

describe('ids that are not ObjectIds', () => {
  it.each([
    ['user', 'query { user(id: "not-an-id") { id } }'],
    ['order', 'query { order(id: "123") { id } }'],
    [
      'updateUser',
      'mutation { updateUser(id: "zzzzzzzzzzzzzzzzzzzzzzzz", input: { fullName: "x" }) { id } }',
    ],
    ['deleteUser', 'mutation { deleteUser(id: "{\\"$ne\\": null}") }'],
  ])('%s gets BAD_USER_INPUT', async (_name, query) => {
    const response = await asAdmin(query);
    expect(response.status).toBe(200);
    expectError(response, 'BAD_USER_INPUT', /not a valid id/);
    expectUsefulErrors(response);
  });

  it('in an _entities representation gets BAD_USER_INPUT at that index only', async () => {
    const response = await graph.requestSubgraph(
      'users',
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { username } } }',
      {
        identity: createIdentity(admin.userId, 'ADMIN'),
        variables: {
          r: [
            { __typename: 'User', id: admin.userId },
            { __typename: 'User', id: 'nope' },
          ],
        },
      },
    );
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ _entities: [{ username: 'admin' }, null] });
    expect(response.body.errors).toMatchObject([
      { path: ['_entities', 1], extensions: { code: 'BAD_USER_INPUT' } },
    ]);
  });

  it('that match nothing give null, not an error', async () => {
    const response = await asAdmin('query { user(id: "0123456789abcdef01234567") { id } }');
    expect(response.body).toEqual({ data: { user: null } });
  });
});

describe('pagination', () => {
  // A million is refused earlier, by the router's cost estimate: see the next test.
  it('first: 1000000 is refused by the router before any subgraph is asked', async () => {
    const before = graph.subgraphRequests.users.length;
    const response = await asAdmin(
      'query ($first: Int) { users(first: $first) { edges { cursor } } }',
      { first: 1_000_000 },
    );
    expect(response.status).toBe(400);
    expectError(response, 'COST_ESTIMATED_TOO_EXPENSIVE', /smaller `first`/);
    expect(graph.subgraphRequests.users.length).toBe(before);
  });

  it.each([101, 0, -1])('first: %i gets BAD_USER_INPUT', async (first) => {
    const response = await asAdmin(
      'query ($first: Int) { users(first: $first) { edges { cursor } } }',
      { first },
    );
    expectError(response, 'BAD_USER_INPUT', /1 to 100|between 1 and 100/);
    const orders = await graph.request(
      graph.routerUrl,
      'query ($first: Int) { orders(first: $first) { edges { cursor } } }',
      {
        token: user.token,
        variables: { first },
      },
    );
    expectError(orders, 'BAD_USER_INPUT');
    const mine = await graph.request(
      graph.routerUrl,
      'query ($first: Int) { me { username orders(first: $first) { edges { cursor } } } }',
      {
        token: user.token,
        variables: { first },
      },
    );
    expectError(mine, 'BAD_USER_INPUT');
    expect(mine.body.data).toEqual({ me: { username: 'user', orders: null } });
  });

  it('a cursor that was not issued by us gets BAD_USER_INPUT', async () => {
    for (const after of ['garbage', 'eyJ4IjoxfQ', '']) {
      expectError(
        await asAdmin('query ($after: String) { users(after: $after) { edges { cursor } } }', {
          after,
        }),
        'BAD_USER_INPUT',
        /cursor/,
      );
      const orders = await graph.request(
        graph.routerUrl,
        'query ($after: String) { orders(after: $after) { edges { cursor } } }',
        {
          token: user.token,
          variables: { after },
        },
      );
      expectError(orders, 'BAD_USER_INPUT', /cursor/);
    }
  });
});

describe('missing and malformed input', () => {
  it('a missing required field is a validation error, not a 5xx', async () => {
    const response = await graph.request(
      graph.routerUrl,
      'mutation { createOrder(input: { item: "x" }) { id } }',
      { token: user.token },
    );
    expect(response.status).toBe(400);
    expectError(response, 'GRAPHQL_VALIDATION_FAILED', /address/);
  });

  it('a missing or mistyped variable is BAD_USER_INPUT', async () => {
    const query = 'mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }';
    expectError(
      await graph.request(graph.routerUrl, query, { token: user.token }),
      'BAD_USER_INPUT',
      /\$input/,
    );
    expectError(
      await graph.request(graph.routerUrl, query, {
        token: user.token,
        variables: { input: { item: 5, address: [] } },
      }),
      'BAD_USER_INPUT',
    );
  });

  it('blank or oversized order fields get BAD_USER_INPUT and write nothing', async () => {
    const before = await graph.ordersDb.collection('orders').countDocuments();
    const query =
      'mutation ($item: String!, $address: String!) { createOrder(input: { item: $item, address: $address }) { id } }';
    for (const variables of [
      { item: '   ', address: 'here' },
      { item: 'x'.repeat(201), address: 'here' },
      { item: 'coffee', address: '' },
    ]) {
      expectError(
        await graph.request(graph.routerUrl, query, { token: user.token, variables }),
        'BAD_USER_INPUT',
      );
    }
    expect(await graph.ordersDb.collection('orders').countDocuments()).toBe(before);
  });

  it('bad createUser input gets BAD_USER_INPUT naming the field, and writes nothing', async () => {
    const query = 'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }';
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ username: 'shorty', password: 'short' }, /at least 8 characters/],
      [{ username: 'no spaces allowed', password: 'long-enough' }, /username/],
      [{ username: 'x', password: 'long-enough' }, /3 to 32/],
      [{ username: 'mailer', password: 'long-enough', email: 'not-an-email' }, /email/],
    ];
    for (const [input, message] of cases) {
      const response = await asAdmin(query, { input });
      expectError(response, 'BAD_USER_INPUT', message);
      expectUsefulErrors(response);
    }
    expect(
      await graph.usersDb
        .collection('users')
        .countDocuments({ username: { $in: ['shorty', 'mailer'] } }),
    ).toBe(0);
  });

  it('updateUser of a user that does not exist is NOT_FOUND', async () => {
    const response = await asAdmin(
      'mutation { updateUser(id: "0123456789abcdef01234567", input: { fullName: "x" }) { id } }',
    );
    expectError(response, 'NOT_FOUND');
  });

  it('an admin cannot delete themself', async () => {
    const response = await asAdmin('mutation ($id: ID!) { deleteUser(id: $id) }', {
      id: admin.userId,
    });
    expectError(response, 'BAD_USER_INPUT', /your own account/);
    expect(await graph.usersDb.collection('users').countDocuments({ username: 'admin' })).toBe(1);
  });
});

describe('bad requests at the HTTP level', () => {
  const post = (
    body: string,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) => fetch(graph.routerUrl, { method: 'POST', headers, body });

  it('invalid JSON gets 400 BAD_REQUEST', async () => {
    const response = await post('{"query": ');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: 'BAD_REQUEST' } }],
    });
  });

  it('a body over the limit gets 413 PAYLOAD_TOO_LARGE', async () => {
    const response = await post(
      JSON.stringify({ query: `{ __typename } # ${'x'.repeat(200 * 1024)}` }),
    );
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
  });

  it('a text/plain POST is refused by CSRF prevention', async () => {
    const response = await post(JSON.stringify({ query: '{ __typename }' }), {
      'content-type': 'text/plain',
    });
    expect(response.status).toBe(400);
  });

  it('a syntax error gets GRAPHQL_PARSE_FAILED', async () => {
    const response = await graph.request(graph.routerUrl, '{ me { id ');
    expect(response.status).toBe(400);
    expectError(response, 'GRAPHQL_PARSE_FAILED');
  });

  it('an unknown path gets 404 with a pointer to /graphql', async () => {
    const response = await fetch(new URL('/nothing-here', graph.routerUrl));
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: 'NOT_FOUND' }, message: expect.stringContaining('/graphql') }],
    });
  });
});
