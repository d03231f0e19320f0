import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseRevocationList,
  REVOCATIONS_AUDIENCE,
  REVOCATIONS_PATH,
  signRequest,
} from '@supergraph/identity';
import { at, expectOk } from './expect.js';
import { startGraph, type GraphQLResponse, type RunningGraph } from './graph.js';

/**
 * Access token revocation (issue #4): logout, a reused refresh token, a new password or role, and
 * deleting a user end the access tokens already out there, at every router, not only the refresh
 * tokens. The state is in MongoDB; routers read it from the users subgraph.
 *
 * The routers here refresh their copy of the list for every request (REVOCATION_REFRESH_MS=0),
 * so that each check is exact; by default a revocation takes up to 5 s to reach a router.
 */
let graph: RunningGraph;
let replica: { routerUrl: string; usersUrl: string };
let adminToken: string;

beforeAll(async () => {
  graph = await startGraph('revocation', { routerEnv: { REVOCATION_REFRESH_MS: '0' } });
  replica = await graph.startReplica();
  adminToken = (await graph.login('admin', 'a')).token;
});
afterAll(() => graph?.stop());

const ME = '{ me { id } }';
const PASSWORD = 'long-enough-1';
const REFRESH = 'mutation ($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }';

/** A user of one's own, so that revoking their tokens disturbs no other test. */
async function newUser(username: string): Promise<string> {
  expectOk(
    await graph.request(
      graph.routerUrl,
      'mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }',
      { token: adminToken, variables: { i: { username, password: PASSWORD } } },
    ),
  );
  return username;
}

function me(token: string, url = graph.routerUrl): Promise<GraphQLResponse> {
  return graph.request(url, ME, { token });
}

async function expectWorks(token: string, url = graph.routerUrl): Promise<void> {
  expect(expectOk(await me(token, url))['me']).toMatchObject({ id: expect.any(String) });
}

/** 401, with the reason a client reads to try a refresh before asking for a login. */
async function expectRevoked(token: string, url = graph.routerUrl): Promise<void> {
  const response = await me(token, url);
  expect(response.status, JSON.stringify(response.body)).toBe(401);
  expect(response.body.data).toBeUndefined();
  expect(response.body.errors?.[0]?.extensions).toMatchObject({
    code: 'UNAUTHENTICATED',
    reason: 'revoked',
  });
  expect(response.body.errors?.[0]?.message).toMatch(/revoked.*log in again/i);
}

/** The access token that a refresh with `refreshToken` gives. */
async function refreshedAccessToken(refreshToken: string): Promise<string> {
  const response = await graph.request(graph.routerUrl, REFRESH, {
    variables: { t: refreshToken },
  });
  expectOk(response);
  const token = at(response.body, ['refreshToken', 'accessToken']);
  expect(token).toEqual(expect.any(String));
  return String(token);
}

async function changeUser(id: string, input: Record<string, unknown>, token = adminToken) {
  expectOk(
    await graph.request(
      graph.routerUrl,
      'mutation ($id: ID!, $i: UpdateUserInput!) { updateUser(id: $id, input: $i) { id } }',
      { token, variables: { id, i: input } },
    ),
  );
}

describe('access tokens', () => {
  it('end with their session at logout, at every router, and no other session’s', async () => {
    const name = await newUser('revoke-logout');
    const [phone, laptop] = [await graph.login(name, PASSWORD), await graph.login(name, PASSWORD)];
    await expectWorks(phone.token, replica.routerUrl);
    expect(
      expectOk(
        await graph.request(
          graph.routerUrl,
          'mutation ($t: String!) { logout(refreshToken: $t) }',
          {
            variables: { t: phone.refreshToken },
          },
        ),
      ),
    ).toEqual({ logout: true });
    // Logged out through one router and users replica; refused by both routers.
    await expectRevoked(phone.token);
    await expectRevoked(phone.token, replica.routerUrl);
    await expectWorks(laptop.token);
    await expectWorks(laptop.token, replica.routerUrl);
  });

  it('end with their session when a refresh token is used twice', async () => {
    const name = await newUser('revoke-reuse');
    const first = await graph.login(name, PASSWORD);
    const next = await refreshedAccessToken(first.refreshToken);
    await expectWorks(next);
    // The old refresh token again: someone holds a copy, and the whole session goes.
    const reused = await graph.request(graph.routerUrl, REFRESH, {
      variables: { t: first.refreshToken },
    });
    expect(reused.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    await expectRevoked(first.token);
    await expectRevoked(next);
  });

  it('all end with a new password, and a login after it works', async () => {
    const name = await newUser('revoke-password');
    const [a, b] = [await graph.login(name, PASSWORD), await graph.login(name, PASSWORD)];
    await changeUser(a.userId, { password: 'a-new-password', currentPassword: PASSWORD }, a.token);
    await expectRevoked(a.token);
    await expectRevoked(b.token, replica.routerUrl);
    await expectWorks((await graph.login(name, 'a-new-password')).token);
  });

  it('end with a new role, and a refresh gives one that states it', async () => {
    const name = await newUser('revoke-role');
    const session = await graph.login(name, PASSWORD);
    await changeUser(session.userId, { role: 'ADMIN' });
    await expectRevoked(session.token);
    // The session itself goes on: the refresh token still works, and the new token is an admin's.
    const token = await refreshedAccessToken(session.refreshToken);
    expect(
      expectOk(
        await graph.request(graph.routerUrl, '{ users(first: 1) { pageInfo { hasNextPage } } }', {
          token,
        }),
      ),
    ).toEqual({ users: { pageInfo: { hasNextPage: expect.any(Boolean) } } });
  });

  it('end when their user is deleted', async () => {
    const name = await newUser('revoke-deleted');
    const session = await graph.login(name, PASSWORD);
    expectOk(
      await graph.request(graph.routerUrl, 'mutation ($id: ID!) { deleteUser(id: $id) }', {
        token: adminToken,
        variables: { id: session.userId },
      }),
    );
    await expectRevoked(session.token);
  });
});

/** Headers the router would send for a request to the users subgraph signed for `audience`. */
const signedAs = (audience: string) =>
  signRequest({
    secret: graph.identitySecret,
    audience,
    userId: undefined,
    role: undefined,
    body: '',
  });

/** A page of the list, fetched as a router fetches it. */
async function fetchList(since?: string) {
  const url = new URL(REVOCATIONS_PATH, graph.usersUrl);
  if (since !== undefined) url.searchParams.set('since', since);
  const response = await fetch(url, { headers: signedAs(REVOCATIONS_AUDIENCE) });
  expect(response.status).toBe(200);
  return parseRevocationList(await response.json());
}

describe('the revocation list', () => {
  const LOGOUT = 'mutation ($t: String!) { logout(refreshToken: $t) }';
  const logout = async (refreshToken: string) =>
    expect(
      expectOk(await graph.request(graph.routerUrl, LOGOUT, { variables: { t: refreshToken } })),
    ).toEqual({ logout: true });

  it('is served to the router only, and names sessions, never users or tokens', async () => {
    const session = await graph.login('user', 'u');
    await logout(session.refreshToken);
    const url = new URL(REVOCATIONS_PATH, graph.usersUrl).href;
    const unsigned = await fetch(url);
    expect(unsigned.status).toBe(401);
    expect(await unsigned.text()).not.toContain('sessions');

    // Signed for GraphQL requests to the users subgraph: not for this.
    expect((await fetch(url, { headers: signedAs('users') })).status).toBe(401);
    // And the list's signature is not one for a GraphQL request with an empty body.
    const graphqlGet = (audience: string) =>
      fetch(new URL('/graphql?query=%7B__typename%7D', graph.usersUrl), {
        headers: { ...signedAs(audience), 'apollo-require-preflight': 'true' },
      });
    expect((await graphqlGet(REVOCATIONS_AUDIENCE)).status).toBe(401);
    expect((await graphqlGet('users')).status).toBe(200); // the control: such a request runs
    const signed = await fetch(url, { headers: signedAs(REVOCATIONS_AUDIENCE) });
    expect(signed.status).toBe(200);
    expect(signed.headers.get('cache-control')).toBe('no-store');
    const list = parseRevocationList(await signed.json());
    // As long as an access token lives (JWT_TTL_SECONDS, 900), the routers' largest clock
    // tolerance (300) and a minute.
    expect(list).toMatchObject({ windowSeconds: 1260 });
    expect(list?.sessions).toContainEqual({
      sid: decodeJwt(session.token)['sid'],
      at: expect.any(Number),
    });
    expect(JSON.stringify(list)).not.toContain(session.userId);
  });

  it('grows with sessions ended, not with requests: a revoked token sent again adds nothing', async () => {
    const session = await graph.login('user', 'u');
    const sid = decodeJwt(session.token)['sid'];
    await logout(session.refreshToken);
    for (let i = 0; i < 3; i += 1) {
      await graph.request(graph.routerUrl, LOGOUT, { variables: { t: session.refreshToken } });
      await graph.request(graph.routerUrl, REFRESH, { variables: { t: session.refreshToken } });
    }
    const { sessions = [] } = (await fetchList()) ?? {};
    expect(
      sessions.filter((revocation) => revocation.sid === sid).map((revocation) => revocation.sid),
    ).toEqual([sid]);
  });

  it('is kept by a router that cannot reach it for a while: answers go on, revocations hold', async () => {
    const [stays, leaves] = [await graph.login('user', 'u'), await graph.login('user', 'u')];
    await logout(leaves.refreshToken);
    await expectRevoked(leaves.token);
    await graph.stopSubgraph('users');
    const ORDERS = '{ orders(first: 1) { pageInfo { hasNextPage } } }';
    expect(expectOk(await graph.request(graph.routerUrl, ORDERS, { token: stays.token }))).toEqual({
      orders: { pageInfo: { hasNextPage: false } },
    });
    const refused = await graph.request(graph.routerUrl, ORDERS, { token: leaves.token });
    expect(refused.status).toBe(401);
    expect(refused.body.errors?.[0]?.extensions?.['reason']).toBe('revoked');
  });
});

describe('a router that never got the list', () => {
  let cut: RunningGraph;
  beforeAll(async () => {
    // Nothing listens on port 1: every fetch of the list is refused at once.
    cut = await startGraph('revocation_cut', {
      routerEnv: { REVOCATIONS_URL: 'http://127.0.0.1:1/revocations' },
    });
  });
  afterAll(() => cut?.stop());

  it('answers 503 to a token it cannot check, and serves anonymous callers', async () => {
    const { token } = await cut.login('user', 'u');
    const response = await cut.request(cut.routerUrl, ME, { token });
    expect(response.status).toBe(503);
    expect(response.body.errors?.[0]?.extensions?.['code']).toBe('SERVICE_UNAVAILABLE');
    expect(expectOk(await cut.request(cut.routerUrl, '{ __typename }'))).toEqual({
      __typename: 'Query',
    });
  });

  it('checks nothing for a token that names no session (another issuer’s), and lets it in', async () => {
    const { userId } = await cut.login('user', 'u');
    const token = await new SignJWT({ role: 'USER' })
      .setProtectedHeader({ alg: cut.signingKey.alg, kid: cut.signingKey.kid, typ: 'at+jwt' })
      .setIssuer(cut.jwt.issuer)
      .setAudience(cut.jwt.audience)
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(cut.signingKey.privateKey);
    expect(expectOk(await cut.request(cut.routerUrl, ME, { token }))).toEqual({
      me: { id: userId },
    });
  });
});
