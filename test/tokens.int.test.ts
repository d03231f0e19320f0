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
  issuedAt?: number;
  expiresAt?: number;
}

/** A token built like the users subgraph builds them, with one thing changed. */
function forge(options: Forge = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: options.role ?? 'ADMIN' })
    .setProtectedHeader({
      alg: options.alg ?? graph.signingKey.alg,
      kid: options.kid ?? graph.signingKey.kid,
      typ: options.typ ?? 'at+jwt',
    })
    .setIssuer(options.issuer ?? graph.jwt.issuer)
    .setAudience(options.audience ?? graph.jwt.audience)
    .setSubject(user.userId)
    .setIssuedAt(options.issuedAt ?? now)
    .setExpirationTime(options.expiresAt ?? now + 600)
    .sign(options.key ?? graph.signingKey.privateKey);
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

describe('access tokens at the router', () => {
  it('accepts a token made by the forge with nothing changed (the control for the cases below)', async () => {
    const token = await forge({ role: 'USER' });
    expect(expectOk(await graph.request(graph.routerUrl, ME, { token }))).toEqual({
      me: { id: user.userId },
    });
  });

  it('treats a request without a token as anonymous', async () => {
    const response = await graph.request(graph.routerUrl, '{ __typename }');
    expect(response.status).toBe(200);
  });

  it('refuses a tampered token: role raised to ADMIN, signature kept', async () => {
    const [header, , signature] = user.token.split('.');
    const claims = { ...decodeJwt(user.token), role: 'ADMIN' };
    await expectRefused(`${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`);
  });

  it('refuses an expired token, and says so', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await forge({ issuedAt: now - 3600, expiresAt: now - 60 }), /expired/);
  });

  it('refuses alg: none', async () => {
    const header = base64url.encode(
      JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: graph.signingKey.kid }),
    );
    const payload = base64url.encode(JSON.stringify(decodeJwt(await forge())));
    await expectRefused(`${header}.${payload}.`);
  });

  it('refuses HS256 signed with the public key as the secret (algorithm confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(graph.signingKey.publicJwk));
    const token = await new SignJWT({ role: 'ADMIN' })
      .setProtectedHeader({ alg: 'HS256', kid: graph.signingKey.kid, typ: 'at+jwt' })
      .setIssuer(graph.jwt.issuer)
      .setAudience(graph.jwt.audience)
      .setSubject(user.userId)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(secret);
    await expectRefused(token);
  });

  it('refuses a wrong issuer', async () => {
    await expectRefused(await forge({ issuer: 'https://evil.example.com' }));
  });

  it('refuses a wrong audience', async () => {
    await expectRefused(await forge({ audience: 'another-api' }));
  });

  it('refuses a token signed by another key, under the real kid or its own', async () => {
    const { privateKey } = await generateKeyPair('EdDSA');
    await expectRefused(await forge({ key: privateKey }));
    await expectRefused(await forge({ key: privateKey, kid: 'attacker-key' }));
  });

  it('refuses a JWT that is not an access token (typ)', async () => {
    await expectRefused(await forge({ typ: 'JWT' }));
  });

  it('refuses a role the graph does not know', async () => {
    await expectRefused(await forge({ role: 'SUPERUSER' }));
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
