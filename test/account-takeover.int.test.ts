import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, expectOk } from './expect.js';
import { startGraph, type GraphQLResponse, type RunningGraph } from './graph.js';

/**
 * Issue #11: someone who stole an access token (and nothing else) must not be able to take the
 * account over by setting a new password or email: those need the current password too. An
 * admin changing another user needs none.
 */
let graph: RunningGraph;
let adminToken: string;

beforeAll(async () => {
  graph = await startGraph('account_takeover', { routerEnv: { TRUSTED_PROXY_HOPS: '1' } });
  adminToken = (await graph.login('admin', 'a')).token;
});
afterAll(() => graph?.stop());

const PASSWORD = 'the-old-password';
const UPDATE =
  'mutation ($id: ID!, $i: UpdateUserInput!) { updateUser(id: $id, input: $i) { id fullName email } }';

async function victim(username: string) {
  expectOk(
    await graph.request(
      graph.routerUrl,
      'mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }',
      { token: adminToken, variables: { i: { username, password: PASSWORD } } },
    ),
  );
  return graph.login(username, PASSWORD);
}

const update = (token: string, id: string, input: Record<string, unknown>, ip = '203.0.113.90') =>
  graph.request(graph.routerUrl, UPDATE, {
    token,
    variables: { id, i: input },
    headers: { 'x-forwarded-for': ip },
  });

function refusal(response: GraphQLResponse) {
  expect(response.body.data).toBeNull();
  const [error] = response.body.errors ?? [];
  return { code: error?.extensions?.['code'], field: error?.extensions?.['field'] };
}

async function canLogIn(username: string, password: string): Promise<boolean> {
  const response = await graph.request(
    graph.routerUrl,
    'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }',
    { variables: { u: username, p: password }, headers: { 'x-forwarded-for': '192.0.2.90' } },
  );
  return response.body.errors === undefined;
}

describe('with a stolen access token alone', () => {
  it('a new password is refused, the old one keeps working, and no session ends', async () => {
    const session = await victim('takeover-1');
    const response = await update(session.token, session.userId, { password: 'attacker-owns-it' });
    expect(refusal(response)).toEqual({ code: 'BAD_USER_INPUT', field: 'currentPassword' });
    expect(response.body.errors?.[0]?.message).toMatch(/current password/);
    expect(await canLogIn('takeover-1', PASSWORD)).toBe(true);
    expect(await canLogIn('takeover-1', 'attacker-owns-it')).toBe(false);
    // The victim's own session is still alive.
    expectOk(await graph.request(graph.routerUrl, '{ me { id } }', { token: session.token }));
  });

  it('a new email is refused too', async () => {
    const session = await victim('takeover-2');
    const response = await update(session.token, session.userId, {
      email: 'attacker@example.com',
    });
    expect(refusal(response)).toEqual({ code: 'BAD_USER_INPUT', field: 'currentPassword' });
    const me = expectOk(
      await graph.request(graph.routerUrl, '{ me { email } }', { token: session.token }),
    );
    expect(me).toEqual({ me: { email: null } });
  });

  it('guessing the current password is throttled like a login', async () => {
    const session = await victim('takeover-3');
    const codes: unknown[] = [];
    for (let i = 0; i < 6; i += 1) {
      const response = await update(session.token, session.userId, {
        password: 'attacker-owns-it',
        currentPassword: `guess-${i}`,
      });
      codes.push(refusal(response).code);
    }
    // The username's allowance (five, the victim's own login among them), then the lock.
    expect(codes.filter((code) => code === 'BAD_USER_INPUT').length).toBeLessThanOrEqual(5);
    expect(codes.at(-1)).toBe('LOGIN_THROTTLED');
    const locked = await update(session.token, session.userId, {
      password: 'attacker-owns-it',
      currentPassword: PASSWORD,
    });
    expect(refusal(locked).code).toBe('LOGIN_THROTTLED');
  });
});

describe('with the current password', () => {
  it('changes the password and the email', async () => {
    const session = await victim('takeover-4');
    expectOk(
      await update(session.token, session.userId, {
        password: 'a-new-password',
        email: 'me@example.com',
        currentPassword: PASSWORD,
      }),
    );
    expect(await canLogIn('takeover-4', 'a-new-password')).toBe(true);
  });

  it('is not needed for the full name, nor by an admin changing someone else', async () => {
    const session = await victim('takeover-5');
    const renamed = expectOk(await update(session.token, session.userId, { fullName: 'Five' }));
    expect(at({ data: renamed }, ['updateUser', 'fullName'])).toBe('Five');
    expectOk(await update(adminToken, session.userId, { password: 'set-by-the-admin' }));
    expect(await canLogIn('takeover-5', 'set-by-the-admin')).toBe(true);
  });
});
