import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_HEADERS, signRequest } from '@supergraph/identity';
import { expectDenied, expectOk } from './expect.js';
import { startGraph, type GraphQLResponse, type RunningGraph } from './graph.js';

/**
 * Identity propagation (issue #2): the router sets identity headers only from a verified token,
 * and a subgraph answers nothing that the router did not sign.
 */
let graph: RunningGraph;
let admin: { token: string; userId: string };
let user: { token: string; userId: string };

beforeAll(async () => {
  graph = await startGraph('identity');
  admin = await graph.login('admin', 'a');
  user = await graph.login('user', 'u');
});
afterAll(() => graph?.stop());

const USERS_QUERY = '{ users(first: 5) { edges { node { id username email } } } }';
const SERVICE_QUERY = '{ _service { sdl } }';
const USER_QUERY = 'query ($id: ID!) { user(id: $id) { id } }';
const ENTITIES_QUERY =
  'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }';

function expectRefused(response: GraphQLResponse): void {
  expect(response.status).toBe(401);
  expect(response.body).not.toHaveProperty('data');
  expect(response.body).toMatchObject({
    errors: [{ extensions: { code: 'UNAUTHENTICATED' }, message: expect.stringMatching(/router/) }],
  });
}

describe('a request straight to a subgraph', () => {
  const forged = () => ({
    [IDENTITY_HEADERS.userId]: admin.userId,
    [IDENTITY_HEADERS.role]: 'ADMIN',
  });
  // A getter, because `admin` is only known once beforeAll has run.
  const bodies = () => ({
    users: JSON.stringify({ query: USERS_QUERY }),
    _service: JSON.stringify({ query: SERVICE_QUERY }),
    _entities: JSON.stringify({
      query: ENTITIES_QUERY,
      variables: { r: [{ __typename: 'User', id: admin.userId }] },
    }),
    introspection: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
  });

  it.each(['users', '_service', '_entities', 'introspection'] as const)(
    'with forged identity headers and no signature is refused: %s',
    async (name) => {
      expectRefused(await graph.post(graph.usersUrl, bodies()[name], forged()));
    },
  );

  it('is refused by the orders subgraph too', async () => {
    expectRefused(
      await graph.post(
        graph.ordersUrl,
        JSON.stringify({ query: '{ orders { edges { node { id } } } }' }),
        forged(),
      ),
    );
    expectRefused(await graph.post(graph.ordersUrl, bodies()._service, {}));
  });

  function signed(
    overrides: { secret?: string; audience?: string; now?: number; body?: string } = {},
  ) {
    return {
      ...forged(),
      ...signRequest({
        secret: overrides.secret ?? graph.identitySecret,
        audience: overrides.audience ?? 'users',
        userId: admin.userId,
        role: 'ADMIN',
        body: overrides.body ?? bodies().users,
        ...(overrides.now === undefined ? {} : { now: overrides.now }),
      }),
    };
  }

  it('is answered when the router’s signature holds (the control for the cases below)', async () => {
    const response = await graph.post(graph.usersUrl, bodies().users, signed());
    expect(response.status).toBe(200);
    expect(response.body).toHaveProperty('data.users.edges');
  });

  it('is refused when signed with another secret', async () => {
    expectRefused(
      await graph.post(graph.usersUrl, bodies().users, signed({ secret: 'x'.repeat(64) })),
    );
  });

  it('is refused when the signature is for the other subgraph', async () => {
    expectRefused(await graph.post(graph.usersUrl, bodies().users, signed({ audience: 'orders' })));
  });

  it('is refused when the timestamp is stale', async () => {
    expectRefused(
      await graph.post(
        graph.usersUrl,
        bodies().users,
        signed({ now: Math.floor(Date.now() / 1000) - 120 }),
      ),
    );
  });

  it('is refused when the body was changed after signing', async () => {
    const headers = signed({ body: JSON.stringify({ query: '{ __typename }' }) });
    expectRefused(await graph.post(graph.usersUrl, bodies().users, headers));
  });

  it('is refused when an identity header was changed after signing', async () => {
    const headers = {
      ...signRequest({
        secret: graph.identitySecret,
        audience: 'users',
        userId: user.userId,
        role: 'USER',
        body: bodies().users,
      }),
      [IDENTITY_HEADERS.userId]: user.userId,
      [IDENTITY_HEADERS.role]: 'ADMIN',
    };
    expectRefused(await graph.post(graph.usersUrl, bodies().users, headers));
  });

  it('is refused for a GET, which cannot carry a signed body', async () => {
    const response = await fetch(`${graph.usersUrl}?query=${encodeURIComponent(SERVICE_QUERY)}`, {
      headers: forged(),
    });
    expect(response.status).toBe(401);
  });
});

describe('the router', () => {
  it('sends no identity headers for an anonymous caller, never the string "undefined"', async () => {
    const before = graph.subgraphRequests.users.length;
    expectOk(await graph.request(graph.routerUrl, 'query { __typename }'));
    // `user` is a @policy field, so the router asks the subgraph, which finds nobody logged in.
    expectDenied(
      await graph.request(graph.routerUrl, USER_QUERY, { variables: { id: admin.userId } }),
      ['user'],
      'UNAUTHENTICATED',
    );
    const sent = graph.subgraphRequests.users.slice(before);
    expect(sent.length).toBeGreaterThan(0);
    for (const { headers } of sent) {
      expect(headers[IDENTITY_HEADERS.userId]).toBeUndefined();
      expect(headers[IDENTITY_HEADERS.role]).toBeUndefined();
      expect(headers[IDENTITY_HEADERS.signature]).toMatch(/^v3=[0-9a-f]{64}$/);
      expect(headers[IDENTITY_HEADERS.requestId]).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(JSON.stringify(headers)).not.toContain('undefined');
    }
  });

  it('ignores identity headers sent by an anonymous client', async () => {
    const response = await graph.request(graph.routerUrl, USER_QUERY, {
      variables: { id: admin.userId },
      headers: { [IDENTITY_HEADERS.userId]: admin.userId, [IDENTITY_HEADERS.role]: 'ADMIN' },
    });
    // Had the router passed the headers on, the subgraph would have answered as the admin.
    expectDenied(response, ['user'], 'UNAUTHENTICATED');
  });

  it('sends the token’s identity, not the one the client put in headers', async () => {
    const before = graph.subgraphRequests.users.length;
    const response = await graph.request(
      graph.routerUrl,
      'query ($id: ID!) { me { id } user(id: $id) { id } }',
      {
        token: user.token,
        variables: { id: admin.userId },
        headers: { [IDENTITY_HEADERS.userId]: admin.userId, [IDENTITY_HEADERS.role]: 'ADMIN' },
      },
    );
    expectDenied(response, ['user'], 'FORBIDDEN');
    expect(response.body.data?.['me']).toEqual({ id: user.userId });
    const sent = graph.subgraphRequests.users.slice(before);
    expect(
      sent.map(({ headers }) => [headers[IDENTITY_HEADERS.userId], headers[IDENTITY_HEADERS.role]]),
    ).toEqual([[user.userId, 'USER']]);
  });
});
