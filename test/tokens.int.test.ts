import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64url, decodeJwt, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';

/**
 * Access tokens at the router (issue #2): no token is anonymous, and any token that fails a
 * check is refused with HTTP 401 UNAUTHENTICATED, never downgraded to anonymous.
 */
let graph: RunningGraph;
let user: { token: string; userId: string };

beforeAll(async () => {
  graph = await startGraph('tokens');
  user = await graph.login('user', 'u');
});
afterAll(() => graph?.stop());

const ME = '{ me { id } }';

interface Forge {
  key?: CryptoKey;
  alg?: string;
  kid?: string;
  typ?: string;
  issuer?: string;
  audience?: string;
  role?: string;
  /** The `scope` claim, left out when undefined. */
  scope?: unknown;
  issuedAt?: number;
  /** null for no `exp` at all. */
  expiresAt?: number | null;
  notBefore?: number;
}

/** A token built like the users subgraph builds them, with one thing changed. */
function forge(options: Forge = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    role: options.role ?? 'ADMIN',
    ...(options.scope === undefined ? {} : { scope: options.scope }),
  })
    .setProtectedHeader({
      alg: options.alg ?? graph.signingKey.alg,
      kid: options.kid ?? graph.signingKey.kid,
      typ: options.typ ?? 'at+jwt',
    })
    .setIssuer(options.issuer ?? graph.jwt.issuer)
    .setAudience(options.audience ?? graph.jwt.audience)
    .setSubject(user.userId)
    .setIssuedAt(options.issuedAt ?? now);
  if (options.expiresAt !== null) jwt.setExpirationTime(options.expiresAt ?? now + 600);
  if (options.notBefore !== undefined) jwt.setNotBefore(options.notBefore);
  return jwt.sign(options.key ?? graph.signingKey.privateKey);
}

async function expectRefused(token: string, message = /invalid|expired/i): Promise<void> {
  const response = await graph.request(graph.routerUrl, ME, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(401);
  expect(response.body.data).toBeUndefined();
  expect(response.body.errors).toHaveLength(1);
  expect(response.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  expect(response.body.errors?.[0]?.message).toMatch(message);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
}

/** A valid token of `user` with its signature changed: the first byte flipped. */
function withTamperedSignature(token: string): string {
  const [header, payload, signature] = token.split('.');
  const bytes = base64url.decode(signature ?? '');
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  return `${header}.${payload}.${base64url.encode(bytes)}`;
}

/**
 * Issue #4's JWT attack matrix, one row per attack: how the token is made, and what the refusal
 * says. Every row must get 401 UNAUTHENTICATED. (test/refresh-tokens.int.test.ts has the other
 * direction: an access token offered to `refreshToken`.)
 */
const ATTACKS: [string, () => Promise<string> | string, RegExp?][] = [
  [
    'a tampered payload: role raised to ADMIN, signature kept',
    () => {
      const [header, , signature] = user.token.split('.');
      const claims = { ...decodeJwt(user.token), role: 'ADMIN' };
      return `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
    },
  ],
  ['a tampered signature', () => withTamperedSignature(user.token)],
  [
    'alg: none',
    async () => {
      const header = base64url.encode(
        JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: graph.signingKey.kid }),
      );
      const payload = base64url.encode(JSON.stringify(decodeJwt(await forge())));
      return `${header}.${payload}.`;
    },
  ],
  [
    'HS256 signed with the public key as the secret (algorithm confusion)',
    () =>
      new SignJWT({ role: 'ADMIN' })
        .setProtectedHeader({ alg: 'HS256', kid: graph.signingKey.kid, typ: 'at+jwt' })
        .setIssuer(graph.jwt.issuer)
        .setAudience(graph.jwt.audience)
        .setSubject(user.userId)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(JSON.stringify(graph.signingKey.publicJwk))),
  ],
  // Our own key, but a kid the key set does not list: a key rotated away must stop working.
  ['a kid the key set does not have, signed with our key', () => forge({ kid: 'rotated-away' })],
  ['a wrong issuer', () => forge({ issuer: 'https://evil.example.com' })],
  ['a wrong audience', () => forge({ audience: 'another-api' })],
  [
    'an expired token (and says so)',
    () => {
      const now = Math.floor(Date.now() / 1000);
      return forge({ issuedAt: now - 3600, expiresAt: now - 60 });
    },
    /expired/,
  ],
  // 60 s ahead is well past the 5 s of clock tolerance.
  [
    'a token not valid yet (nbf in the future)',
    () => forge({ notBefore: Math.floor(Date.now() / 1000) + 60 }),
  ],
  ['a token without exp, which would never expire', () => forge({ expiresAt: null })],
  // JWT_MAX_AGE_SECONDS (1 h): whatever `exp` says, a token is dead an hour after its `iat`.
  [
    'a token valid for ten years, issued two hours ago',
    () => {
      const now = Math.floor(Date.now() / 1000);
      return forge({ issuedAt: now - 7200, expiresAt: now + 10 * 365 * 86400 });
    },
  ],
  [
    'a token issued in the future (iat an hour ahead)',
    () => {
      const now = Math.floor(Date.now() / 1000);
      return forge({ issuedAt: now + 3600, expiresAt: now + 4200 });
    },
  ],
  [
    'a token signed by a stranger’s key under our kid',
    async () => forge({ key: (await generateKeyPair('EdDSA')).privateKey }),
  ],
  [
    'a token signed by a stranger’s key under a kid of its own',
    async () => forge({ key: (await generateKeyPair('EdDSA')).privateKey, kid: 'attacker-key' }),
  ],
  ['a JWT that is not an access token (typ)', () => forge({ typ: 'JWT' })],
  // Signed by the same key, but typ rt+jwt (and addressed to the users subgraph).
  [
    'a refresh token used as an access token',
    async () => (await graph.login('user', 'u')).refreshToken,
  ],
  ['a role the graph does not know', () => forge({ role: 'SUPERUSER' })],
  // Read as "no scopes", a broken claim would hide a misconfigured identity provider.
  ['a scope claim that is not a list of scopes', () => forge({ role: 'USER', scope: 42 })],
  ['a scope claim with a malformed scope', () => forge({ role: 'USER', scope: ['admin', ''] })],
];

describe('access tokens at the router', () => {
  it('accepts a token made by the forge with nothing changed (the control for the rows below)', async () => {
    const token = await forge({ role: 'USER' });
    expect(expectOk(await graph.request(graph.routerUrl, ME, { token }))).toEqual({
      me: { id: user.userId },
    });
  });

  it('accepts a token whose nbf is now, and its own token (controls for nbf and the signature)', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const token of [await forge({ role: 'USER', notBefore: now }), user.token]) {
      expect(expectOk(await graph.request(graph.routerUrl, ME, { token }))).toEqual({
        me: { id: user.userId },
      });
    }
  });

  it('treats a request without a token as anonymous', async () => {
    const response = await graph.request(graph.routerUrl, '{ __typename }');
    expect(response.status).toBe(200);
  });

  it.each(ATTACKS)('refuses %s', async (_attack, make, message) => {
    await expectRefused(await make(), message);
  });

  it.each([
    ['Basic dXNlcjp1', 'not Bearer'],
    ['Bearer', 'no token'],
    ['Bearer not a jwt', 'spaces'],
    ['Bearer abc.def', 'two segments'],
  ])('refuses the Authorization header %j (%s)', async (authorization) => {
    const response = await graph.request(graph.routerUrl, ME, { headers: { authorization } });
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('scopes from the token’s claims', () => {
  const USERS = '{ users(first: 1) { edges { node { id } } } }';

  it.each([
    ['a space-separated string', 'reports admin'],
    ['an array', ['admin']],
  ])(
    'grant @requiresScopes fields, at the router and in the subgraph, given as %s',
    async (_, scope) => {
      const token = await forge({ role: 'USER', scope });
      const before = graph.subgraphRequests.users.length;
      const data = expectOk(await graph.request(graph.routerUrl, USERS, { token }));
      expect(data['users']).toMatchObject({ edges: [{ node: { id: expect.any(String) } }] });
      // The subgraph checked the scope again, from the signed header the router sent.
      const [sent] = graph.subgraphRequests.users.slice(before);
      expect(sent?.headers['x-user-scopes']).toBe(
        'admin' + (Array.isArray(scope) ? '' : ' reports'),
      );
    },
  );

  it('make an admin in every check: the same answers for a USER with scope admin as for an ADMIN', async () => {
    const admin = await graph.login('admin', 'a');
    const scoped = await forge({ role: 'USER', scope: 'admin' });
    // Another user's record and email (policy admin), everyone's orders (resolver), the list of
    // users (@requiresScopes): each reads the one meaning of admin, the scope.
    const ALL = `query ($id: ID!) {
      user(id: $id) { username email }
      users(first: 5) { edges { node { username email } } }
      orders(first: 5) { edges { node { id } } }
    }`;
    const variables = { id: admin.userId };
    const byRole = expectOk(
      await graph.request(graph.routerUrl, ALL, { token: admin.token, variables }),
    );
    const byScope = expectOk(
      await graph.request(graph.routerUrl, ALL, { token: scoped, variables }),
    );
    expect(byScope).toEqual(byRole);
    expect(byScope['user']).toEqual({ username: 'admin', email: 'admin@example.com' });
  });

  it('grant nothing the token does not say (the control)', async () => {
    const token = await forge({ role: 'USER', scope: 'reports' });
    const response = await graph.request(graph.routerUrl, USERS, { token });
    // Nothing of the operation was left to run.
    expect(response.body.data).toBeNull();
    expect(response.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
  });
});
