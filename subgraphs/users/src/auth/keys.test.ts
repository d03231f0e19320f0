import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { ConfigError } from '@supergraph/service-kit';
import { jwks, loadSigningKeys, rotateDevelopmentKeys } from './keys.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'users-keys-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

const development = () =>
  loadSigningKeys({
    alg: 'EdDSA',
    privateKeyPem: undefined,
    previousPublicKeyPem: undefined,
    dataDir,
  });

describe('development key rotation (npm run keys:rotate)', () => {
  it('makes the current key the previous one and generates a new current one', async () => {
    const first = await development();
    expect(first.previous).toEqual([]);

    const second = await rotateDevelopmentKeys({ alg: 'EdDSA', dataDir });
    expect(second.current.kid).not.toBe(first.current.kid);
    expect(second.previous.map((key) => key.kid)).toEqual([first.current.kid]);
    // What a restart loads is what the rotation reported.
    const restarted = await development();
    expect(restarted.current.kid).toBe(second.current.kid);
    expect(restarted.previous.map((key) => key.kid)).toEqual([first.current.kid]);
    expect(jwks([restarted.current, ...restarted.previous]).keys.map((key) => key.kid)).toEqual([
      second.current.kid,
      first.current.kid,
    ]);

    // One more: the first key is no longer published or trusted.
    const third = await rotateDevelopmentKeys({ alg: 'EdDSA', dataDir });
    expect(third.previous.map((key) => key.kid)).toEqual([second.current.kid]);
  });

  it('keeps only the public half of the previous key: it must never sign again', async () => {
    await development();
    await rotateDevelopmentKeys({ alg: 'EdDSA', dataDir });
    const previousFile = (await readdir(dataDir)).find((name) => name.includes('previous'));
    expect(previousFile).toBeDefined();
    const stored: unknown = JSON.parse(await readFile(join(dataDir, previousFile ?? ''), 'utf8'));
    expect(stored).toMatchObject({ kty: 'OKP', alg: 'EdDSA' });
    expect(stored).not.toHaveProperty('d');
  });

  it('works on an empty data folder', async () => {
    const keys = await rotateDevelopmentKeys({ alg: 'ES256', dataDir });
    expect(keys.current.alg).toBe('ES256');
    expect(keys.previous).toEqual([]);
  });
});

describe('production keys (JWT_PRIVATE_KEY, JWT_PREVIOUS_PUBLIC_KEY)', () => {
  async function pems(alg: 'EdDSA' | 'ES256') {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    return {
      privateKeyPem: (await exportPKCS8(privateKey)).replace(/\n/g, '\\n'),
      publicKeyPem: await exportSPKI(publicKey),
      kid: await calculateJwkThumbprint(await exportJWK(publicKey)),
    };
  }

  it('publishes the previous public key, of either algorithm, beside the signing key', async () => {
    const current = await pems('EdDSA');
    for (const alg of ['EdDSA', 'ES256'] as const) {
      const previous = await pems(alg);
      const keys = await loadSigningKeys({
        alg: 'EdDSA',
        privateKeyPem: current.privateKeyPem,
        previousPublicKeyPem: previous.publicKeyPem,
        dataDir,
      });
      expect(keys.current.kid).toBe(current.kid);
      expect(keys.previous).toMatchObject([{ kid: previous.kid, alg }]);
      expect(keys.previous[0]?.publicJwk).not.toHaveProperty('d');
    }
  });

  it('never picks up a development previous key when real keys are configured', async () => {
    await development();
    await rotateDevelopmentKeys({ alg: 'EdDSA', dataDir });
    const current = await pems('EdDSA');
    const keys = await loadSigningKeys({
      alg: 'EdDSA',
      privateKeyPem: current.privateKeyPem,
      previousPublicKeyPem: undefined,
      dataDir,
    });
    expect(keys.previous).toEqual([]);
  });

  it('names JWT_PREVIOUS_PUBLIC_KEY when it is not a public key', async () => {
    const current = await pems('EdDSA');
    for (const bad of ['change-me', current.privateKeyPem]) {
      const loading = loadSigningKeys({
        alg: 'EdDSA',
        privateKeyPem: current.privateKeyPem,
        previousPublicKeyPem: bad,
        dataDir,
      });
      await expect(loading).rejects.toBeInstanceOf(ConfigError);
      await expect(loading).rejects.toThrow(/JWT_PREVIOUS_PUBLIC_KEY/);
    }
  });
});
