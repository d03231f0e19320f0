import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
} from 'jose';
import { z } from 'zod';
import { expectError, expectOk } from './expect.js';
import { startGraph, type GraphQLResponse, type RunningGraph } from './graph.js';

/**
 * Refresh tokens (issue #4): rotation, reuse detection, logout, and revocation that every
 * replica sees. Everything goes through the router over HTTP, against the real database.
 */
let graph: RunningGraph;
/** Refresh tokens that live one second. */
let shortLived: RunningGraph;
let adminToken: string;

beforeAll(async () => {
  [graph, shortLived] = await Promise.all([
    startGraph('refresh_tokens'),
    startGraph('refresh_tokens_short', { usersEnv: { REFRESH_TOKEN_TTL_SECONDS: '1' } }),
  ]);
  adminToken = (await graph.login('admin', 'a')).token;
});
afterAll(() => Promise.all([graph?.stop(), shortLived?.stop()]));

const PAYLOAD =
  'accessToken tokenType expiresIn refreshToken refreshExpiresIn user { id username email }';
const REFRESH = `mutation ($t: String!) { refreshToken(token: $t) { ${PAYLOAD} } }`;
const LOGOUT = 'mutation ($t: String!) { logout(refreshToken: $t) }';
const ME = '{ me { id username } }';

const Payload = z.object({
  accessToken: z.string(),
  tokenType: z.string(),
  expiresIn: z.number(),
  refreshToken: z.string(),
  refreshExpiresIn: z.number(),
  user: z.object({ id: z.string(), username: z.string(), email: z.string().nullable() }),
});

function payloadOf(response: GraphQLResponse, field: 'login' | 'refreshToken') {
  return Payload.parse(expectOk(response)[field]);
}

function refresh(token: string, url = graph.routerUrl, on = graph): Promise<GraphQLResponse> {
  return on.request(url, REFRESH, { variables: { t: token } });
}

function logout(token: string, url = graph.routerUrl): Promise<GraphQLResponse> {
  return graph.request(url, LOGOUT, { variables: { t: token } });
}

/** Refused: UNAUTHENTICATED at the field, no data, a message that says to log in again. */
function expectRefused(response: GraphQLResponse, message = /log in again/i): void {
  expect(response.status).toBe(200);
  expect(response.body.data, JSON.stringify(response.body)).toBeNull();
  expect(response.body.errors).toHaveLength(1);
  expect(response.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  expect(response.body.errors?.[0]?.message).toMatch(message);
}

/** A user of one's own, so that revoking their sessions disturbs no other test. */
async function newUser(name: string, password = 'long-enough-1'): Promise<string> {
  const response = await graph.request(
    graph.routerUrl,
    'mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }',
    { token: adminToken, variables: { i: { username: name, password } } },
  );
  expectOk(response);
  return password;
}

describe('login', () => {
  it('returns a refresh token: typed rt+jwt, addressed to the users subgraph, with no role', async () => {
    const login = payloadOf(
      await graph.request(
        graph.routerUrl,
        `mutation { login(username: "user", password: "u") { ${PAYLOAD} } }`,
      ),
      'login',
    );
    expect(login.refreshExpiresIn).toBe(30 * 24 * 60 * 60);
    expect(decodeProtectedHeader(login.refreshToken)).toMatchObject({
      typ: 'rt+jwt',
      kid: graph.signingKey.kid,
    });
    const claims = decodeJwt(login.refreshToken);
    expect(claims).toMatchObject({
      iss: graph.jwt.issuer,
      aud: graph.jwt.issuer,
      sub: login.user.id,
    });
    expect(claims).not.toHaveProperty('role');
    expect(claims.exp! - claims.iat!).toBe(30 * 24 * 60 * 60);
    expect(claims.jti).toMatch(/\S/);
  });
});

describe('refreshToken', () => {
  it('rotates: a new access token that works at the router, and a new refresh token', async () => {
    const { refreshToken, userId } = await graph.login('user', 'u');
    const next = payloadOf(await refresh(refreshToken), 'refreshToken');
    expect(next.refreshToken).not.toBe(refreshToken);
    expect(next).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { id: userId } });
    expect(next.refreshExpiresIn).toBe(30 * 24 * 60 * 60);
    expect(decodeJwt(next.refreshToken).jti).not.toBe(decodeJwt(refreshToken).jti);
    expect(expectOk(await graph.request(graph.routerUrl, ME, { token: next.accessToken }))).toEqual(
      { me: { id: userId, username: 'user' } },
    );
    // And the chain goes on.
    expectOk(await refresh(next.refreshToken));
  });

  it('detects reuse: the old token again is refused, and its whole family is revoked', async () => {
    const { refreshToken: first } = await graph.login('user', 'u');
    const { refreshToken: unrelated } = await graph.login('user', 'u');
    const second = payloadOf(await refresh(first), 'refreshToken').refreshToken;
    const third = payloadOf(await refresh(second), 'refreshToken').refreshToken;

    // Someone replays a token that was rotated away: a thief, or a client with a stale copy.
    expectRefused(await refresh(first), /used already/);
    // The newest token of that login stops working too, so a thief's copy is worth nothing.
    expectRefused(await refresh(third), /revoked/);
    // Another login of the same user is another family, untouched.
    expectOk(await refresh(unrelated));
  });

  it('gives exactly one of many concurrent refreshes of one token a new token', async () => {
    const { refreshToken } = await graph.login('user', 'u');
    const responses = await Promise.all(Array.from({ length: 10 }, () => refresh(refreshToken)));
    const winners = responses.filter((response) => !response.body.errors);
    expect(winners).toHaveLength(1);
    for (const response of responses.filter((r) => r.body.errors)) expectRefused(response);
    // The losers presented a used token, which revokes the family, the winner's new token included.
    const [winner] = winners;
    expectRefused(await refresh(payloadOf(winner!, 'refreshToken').refreshToken), /revoked/);
  });

  it('refuses an access token', async () => {
    const { token } = await graph.login('user', 'u');
    expectRefused(await refresh(token), /not valid/);
  });

  it('refuses garbage and tampered tokens with UNAUTHENTICATED, never a server error', async () => {
    const { refreshToken, userId } = await graph.login('user', 'u');
    const [header, payload, signature] = refreshToken.split('.');
    const claims = decodeJwt(refreshToken);
    const flipped = base64url.decode(signature ?? '');
    flipped[0] = (flipped[0] ?? 0) ^ 0xff;
    const { privateKey: otherKey } = await generateKeyPair('EdDSA');
    const forge = (key: CryptoKey, typ = 'rt+jwt', jti = String(claims.jti)) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA', kid: graph.signingKey.kid, typ })
        .setIssuer(graph.jwt.issuer)
        .setAudience(graph.jwt.issuer)
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime('1h')
        .setJti(jti)
        .sign(key);

    const cases: Record<string, string> = {
      empty: '',
      garbage: 'not a token',
      'three dots': 'a.b.c',
      huge: 'x'.repeat(50_000),
      'payload changed, signature kept': `${header}.${base64url.encode(
        JSON.stringify({ ...claims, sub: '0'.repeat(24) }),
      )}.${signature}`,
      'signature changed': `${header}.${payload}.${base64url.encode(flipped)}`,
      'alg: none': `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'rt+jwt' }))}.${payload}.`,
      'signed by another key under our kid': await forge(otherKey),
      'signed by our key but never issued (unknown jti)': await forge(
        graph.signingKey.privateKey,
        'rt+jwt',
        'made-up',
      ),
      'an access token type under our key': await forge(graph.signingKey.privateKey, 'at+jwt'),
    };
    for (const [name, token] of Object.entries(cases)) {
      const response = await refresh(token);
      expect(response.status, name).toBe(200);
      expect(response.body.errors?.[0]?.extensions?.['code'], name).toBe('UNAUTHENTICATED');
      expectError(response, 'UNAUTHENTICATED');
    }
    // None of that harmed the real token.
    expectOk(await refresh(refreshToken));
  });

  it('refuses an expired refresh token, and says so', async () => {
    const { refreshToken } = await shortLived.login('user', 'u');
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expectRefused(await refresh(refreshToken, shortLived.routerUrl, shortLived), /expired/);
  });

  it('reads the user again: a changed role is in the new access token', async () => {
    await newUser('promoted');
    const { refreshToken, userId } = await graph.login('promoted', 'long-enough-1');
    expectOk(
      await graph.request(
        graph.routerUrl,
        'mutation ($id: ID!) { updateUser(id: $id, input: { role: ADMIN }) { id } }',
        { token: adminToken, variables: { id: userId } },
      ),
    );
    const next = payloadOf(await refresh(refreshToken), 'refreshToken');
    expect(decodeJwt(next.accessToken)).toMatchObject({ sub: userId, role: 'ADMIN' });
  });
});

describe('a refresh token at the router', () => {
  it('is not an access token: 401', async () => {
    const { refreshToken } = await graph.login('user', 'u');
    const response = await graph.request(graph.routerUrl, ME, { token: refreshToken });
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    expect(response.body.data).toBeUndefined();
  });
});

describe('logout', () => {
  it('revokes the session: its refresh tokens stop working, and a second logout is false', async () => {
    const { refreshToken: first } = await graph.login('user', 'u');
    const second = payloadOf(await refresh(first), 'refreshToken').refreshToken;
    expect(expectOk(await logout(second))).toEqual({ logout: true });
    expectRefused(await refresh(second), /revoked/);
    // Idempotent, with any token of the family, and never an error.
    expect(expectOk(await logout(second))).toEqual({ logout: false });
    expect(expectOk(await logout(first))).toEqual({ logout: false });
  });

  it('refuses what is not a refresh token of ours, with a message saying what to send', async () => {
    const { token } = await graph.login('user', 'u');
    for (const bad of ['garbage', token]) {
      const response = await logout(bad);
      expectError(response, 'UNAUTHENTICATED', /refreshToken/);
      expect(response.body.data).toBeNull();
    }
  });
});

describe('revocation', () => {
  it('is seen by every users replica: the state lives in MongoDB', async () => {
    const replica = await graph.startReplica();
    const { refreshToken } = await graph.login('user', 'u');
    // Rotated through one replica...
    const next = payloadOf(await refresh(refreshToken), 'refreshToken').refreshToken;
    // ...the used token replayed at the other is caught as reuse there...
    expectRefused(await refresh(refreshToken, replica.routerUrl), /used already/);
    // ...and the family is revoked for the first replica too.
    expectRefused(await refresh(next), /revoked/);

    // Logout through one replica, refused at the other.
    const other = await graph.login('user', 'u', { url: replica.routerUrl });
    expect(expectOk(await logout(other.refreshToken, replica.routerUrl))).toEqual({
      logout: true,
    });
    expectRefused(await refresh(other.refreshToken), /revoked/);
  });

  it('follows a password change and a deleted user', async () => {
    const password = await newUser('changes-password');
    const session = await graph.login('changes-password', password);
    const elsewhere = await graph.login('changes-password', password);
    expectOk(
      await graph.request(
        graph.routerUrl,
        'mutation ($id: ID!, $current: String!) { updateUser(id: $id, input: { password: "a-new-password", currentPassword: $current }) { id } }',
        { token: session.token, variables: { id: session.userId, current: password } },
      ),
    );
    expectRefused(await refresh(session.refreshToken), /revoked/);
    expectRefused(await refresh(elsewhere.refreshToken), /revoked/);

    const later = await graph.login('changes-password', 'a-new-password');
    expectOk(
      await graph.request(graph.routerUrl, 'mutation ($id: ID!) { deleteUser(id: $id) }', {
        token: adminToken,
        variables: { id: later.userId },
      }),
    );
    expectRefused(await refresh(later.refreshToken));
  });
});

describe('storage', () => {
  it('holds hashes of refresh tokens, never a token', async () => {
    const { refreshToken } = await graph.login('user', 'u');
    const next = payloadOf(await refresh(refreshToken), 'refreshToken').refreshToken;
    const everything: unknown[] = [];
    for (const { name } of await graph.usersDb.listCollections().toArray()) {
      everything.push(...(await graph.usersDb.collection(name).find().toArray()));
    }
    const dump = JSON.stringify(everything);
    for (const token of [refreshToken, next]) {
      const [, payload, signature] = token.split('.');
      expect(dump).not.toContain(token);
      expect(dump).not.toContain(payload);
      expect(dump).not.toContain(signature);
      expect(dump).toContain(createHash('sha256').update(token).digest('hex'));
    }
  });
});
