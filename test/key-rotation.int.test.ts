import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader, exportPKCS8, exportSPKI, generateKeyPair, importJWK } from 'jose';
import { z } from 'zod';
import { loadSigningKeys, type SigningKeys } from '../subgraphs/users/src/auth/keys.js';
import { expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';

/**
 * Key rotation (issue #4): the JWKS serves the current and the previous key, a token signed with
 * the previous key stays valid until it expires, and one signed with a key that is no longer
 * published is refused.
 *
 * The router refetches the JWKS for an unknown `kid` at once here (JWKS_COOLDOWN_SECONDS=0);
 * with the default 30 s cooldown the first logins after a rotation would wait for it. The
 * README's rotation procedure publishes a key before it signs, which avoids that in production.
 */
let graph: RunningGraph;
let keysDir: string;

beforeAll(async () => {
  graph = await startGraph('key_rotation', { routerEnv: { JWKS_COOLDOWN_SECONDS: '0' } });
  keysDir = await mkdtemp(join(tmpdir(), 'supergraph-keys-'));
});
afterAll(async () => {
  await graph?.stop();
  if (keysDir) await rm(keysDir, { recursive: true, force: true });
});

const ME = '{ me { id } }';
const REFRESH = 'mutation ($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }';
const root = new URL('..', import.meta.url).pathname;

/** `npm run keys:rotate`, the documented command, on this test's data folder. */
async function rotateKeys(): Promise<void> {
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/rotate-keys.ts'], {
    cwd: root,
    env: { ...process.env, DATA_DIR: keysDir, JWT_ALG: 'EdDSA', JWT_PRIVATE_KEY: '' },
  });
}

/** What the users subgraph does at start: load the keys from the data folder, and serve them. */
async function restartWithDevelopmentKeys(): Promise<SigningKeys> {
  const keys = await loadSigningKeys({
    alg: 'EdDSA',
    privateKeyPem: undefined,
    previousPublicKeyPem: undefined,
    dataDir: keysDir,
  });
  await graph.restartUsers({ signingKey: keys.current, previousKeys: keys.previous });
  return keys;
}

async function publishedKids(): Promise<string[]> {
  const response = await fetch(new URL('/.well-known/jwks.json', graph.usersUrl));
  const jwks = z
    .object({ keys: z.array(z.object({ kid: z.string() }).loose()) })
    .parse(await response.json());
  return jwks.keys.map((key) => key.kid);
}

async function expectAccepted(token: string): Promise<void> {
  const response = await graph.request(graph.routerUrl, ME, { token });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  expect(expectOk(response)).toHaveProperty('me.id');
}

async function expectRefusedAtRouter(token: string): Promise<void> {
  const response = await graph.request(graph.routerUrl, ME, { token });
  expect(response.status).toBe(401);
  expect(response.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
}

describe('npm run keys:rotate', () => {
  it('keeps tokens of the previous key valid, and drops the key before it', async () => {
    const k1 = (await restartWithDevelopmentKeys()).current;
    const before = await graph.login('user', 'u');
    const spare = await graph.login('user', 'u');
    expect(decodeProtectedHeader(before.token).kid).toBe(k1.kid);
    await expectAccepted(before.token);

    await rotateKeys();
    const k2 = (await restartWithDevelopmentKeys()).current;
    expect(await publishedKids()).toEqual([k2.kid, k1.kid]);
    const after = await graph.login('user', 'u');
    expect(decodeProtectedHeader(after.token).kid).toBe(k2.kid);
    // New tokens work at once: their kid is unknown to the router, which refetches the JWKS.
    await expectAccepted(after.token);
    // Tokens signed before the rotation work until they expire, at the router and here.
    await expectAccepted(before.token);
    const refreshed = await graph.request(graph.routerUrl, REFRESH, {
      variables: { t: before.refreshToken },
    });
    const next = z.object({ refreshToken: z.string() }).parse(expectOk(refreshed)['refreshToken']);
    expect(decodeProtectedHeader(next.refreshToken).kid).toBe(k2.kid);

    await rotateKeys();
    const k3 = (await restartWithDevelopmentKeys()).current;
    expect(await publishedKids()).toEqual([k3.kid, k2.kid]);
    await expectAccepted((await graph.login('user', 'u')).token);
    await expectAccepted(after.token);
    // k1 is published no more: what it signed is refused, access and refresh tokens alike.
    await expectRefusedAtRouter(before.token);
    const stale = await graph.request(graph.routerUrl, REFRESH, {
      variables: { t: spare.refreshToken },
    });
    expect(stale.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('production rotation (JWT_PRIVATE_KEY, JWT_PREVIOUS_PUBLIC_KEY)', () => {
  it('trusts and publishes the previous public key, and signs with the new private key', async () => {
    const old = graph.signingKey;
    const session = await graph.login('user', 'u');
    await expectAccepted(session.token);

    // The README's procedure: the old key's public half moves to JWT_PREVIOUS_PUBLIC_KEY.
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const oldPublicKey = await importJWK(old.publicJwk, old.alg);
    if (oldPublicKey instanceof Uint8Array) throw new Error('expected an asymmetric key');
    const keys = await loadSigningKeys({
      alg: 'ES256',
      privateKeyPem: await exportPKCS8(privateKey),
      previousPublicKeyPem: await exportSPKI(oldPublicKey),
      dataDir: keysDir,
    });
    await graph.restartUsers({ signingKey: keys.current, previousKeys: keys.previous });
    expect(await publishedKids()).toEqual([keys.current.kid, old.kid]);

    const fresh = await graph.login('user', 'u');
    expect(decodeProtectedHeader(fresh.token)).toMatchObject({
      alg: 'ES256',
      kid: keys.current.kid,
    });
    await expectAccepted(fresh.token);
    await expectAccepted(session.token);
    const refreshed = await graph.request(graph.routerUrl, REFRESH, {
      variables: { t: session.refreshToken },
    });
    expect(refreshed.body.errors).toBeUndefined();
  });
});
