import { createServer, type Server } from 'node:http';
import type * as JoseModule from 'jose';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger, HttpError } from '@supergraph/service-kit';
import { loadRouterConfig } from '../config.js';
import { createAccessTokenVerifier } from './accessTokens.js';

// jose as it is, with its signature check counted.
const verifications = vi.hoisted(() => ({ count: 0 }));
vi.mock('jose', async (importOriginal) => {
  const jose: typeof JoseModule = await importOriginal();
  return {
    ...jose,
    jwtVerify: (...args: Parameters<typeof jose.jwtVerify>) => {
      verifications.count += 1;
      return jose.jwtVerify(...args);
    },
  };
});

/**
 * The verifier's cache of verified tokens (issue #14): a token is checked in full once, and
 * then only for what can change while it lives: its expiry, its revocation, the key set.
 */
let server: Server;
let published: JWK[] = [];
let jwksUrl = '';
const signingKey = await generateKeyPair('EdDSA');
const otherKey = await generateKeyPair('EdDSA');

const publishSigningKey = async () => {
  published = [{ ...(await exportJWK(signingKey.publicKey)), kid: 'one', alg: 'EdDSA' }];
};
beforeEach(publishSigningKey);

beforeAll(async () => {
  await publishSigningKey();
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  jwksUrl = `http://127.0.0.1:${address.port}/jwks`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function verifier(revoked: Set<string> = new Set()) {
  const { jwt } = loadRouterConfig({
    IDENTITY_SIGNING_SECRET: 'k'.repeat(64),
    JWKS_URL: jwksUrl,
    JWT_CLOCK_TOLERANCE_SECONDS: '0',
    JWKS_COOLDOWN_SECONDS: '0',
  });
  return createAccessTokenVerifier({
    jwt,
    isRevoked: Object.assign(async ({ sid }: { sid?: string }) => revoked.has(sid ?? ''), {
      ready: async () => true as const,
      ageSeconds: () => 0,
    }),
    logger: createLogger('test', 'silent'),
  });
}

async function token({
  expiresInSeconds = 600,
  kid = 'one',
  key = signingKey.privateKey,
} = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'USER', sid: 'session-1', gen: 0 })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
    .setSubject('user-1')
    .setIssuer('urn:supergraph:users')
    .setAudience('supergraph')
    .setIssuedAt(now)
    .setExpirationTime(now + expiresInSeconds)
    .sign(key);
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => (error instanceof HttpError ? error.extensions?.['reason'] : error),
  );

describe('verified tokens', () => {
  it('have their signature checked once, not on every request', async () => {
    const verify = verifier();
    const bearer = `Bearer ${await token()}`;
    const before = verifications.count;
    for (let i = 0; i < 5; i += 1) expect((await verify(bearer))?.id).toBe('user-1');
    expect(verifications.count - before).toBe(1);
  });

  it('are asked about revocation on every request, cached or not', async () => {
    const revoked = new Set<string>();
    const verify = verifier(revoked);
    const bearer = `Bearer ${await token()}`;
    expect((await verify(bearer))?.id).toBe('user-1');
    expect((await verify(bearer))?.id).toBe('user-1');
    revoked.add('session-1');
    expect(await refusal(verify(bearer))).toBe('revoked');
  });

  it('stop working when they expire, however recently they were checked', async () => {
    const verify = verifier();
    const bearer = `Bearer ${await token({ expiresInSeconds: 1 })}`;
    expect((await verify(bearer))?.id).toBe('user-1');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await refusal(verify(bearer))).toBe('expired');
  });

  it('are checked again when the key set changes: a withdrawn key vouches for nothing', async () => {
    const verify = verifier();
    const bearer = `Bearer ${await token()}`;
    expect((await verify(bearer))?.id).toBe('user-1');
    // The key is withdrawn and another published; a token with the new kid makes the router
    // fetch the set again.
    published = [{ ...(await exportJWK(otherKey.publicKey)), kid: 'two', alg: 'EdDSA' }];
    expect(
      (await verify(`Bearer ${await token({ kid: 'two', key: otherKey.privateKey })}`))?.id,
    ).toBe('user-1');
    expect(await refusal(verify(bearer))).toBe('invalid');
  });

  it('are cached by the exact token: an altered one is checked, and refused', async () => {
    const verify = verifier();
    const good = await token();
    expect((await verify(`Bearer ${good}`))?.id).toBe('user-1');
    const altered = `${good.slice(0, -4)}${good.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expect(await refusal(verify(`Bearer ${altered}`))).toBe('invalid');
  });
});
