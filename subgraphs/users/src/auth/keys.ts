import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@supergraph/service-kit';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type CryptoKey,
  type JWK,
} from 'jose';

export type SigningAlgorithm = 'EdDSA' | 'ES256';

/** The key that signs access tokens, with the public half that the JWKS publishes. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

function isPrivateJwk(value: unknown): value is JWK {
  return (
    typeof value === 'object' &&
    value !== null &&
    'kty' in value &&
    typeof value.kty === 'string' &&
    'd' in value &&
    typeof value.d === 'string'
  );
}

async function fromPrivateJwk(privateJwk: JWK, alg: SigningAlgorithm): Promise<SigningKey> {
  const { d: _d, ...publicJwk } = privateJwk;
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateKey = await importJWK(privateJwk, alg);
  if (privateKey instanceof Uint8Array) throw new Error('expected an asymmetric key');
  return { kid, alg, privateKey, publicJwk: { ...publicJwk, kid, alg, use: 'sig' } };
}

/** A fresh key pair, kept in memory. Tests use this; development persists one (below). */
export async function generateSigningKey(alg: SigningAlgorithm = 'EdDSA'): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return fromPrivateJwk(await exportJWK(privateKey), alg);
}

/**
 * The signing key, from `JWT_PRIVATE_KEY` (PKCS#8 PEM) when set, which production requires.
 * Otherwise a development key generated on first start and kept in the gitignored data folder,
 * so that tokens survive restarts.
 */
export async function loadSigningKey(options: {
  alg: SigningAlgorithm;
  privateKeyPem: string | undefined;
  dataDir: string;
}): Promise<SigningKey> {
  if (options.privateKeyPem) {
    // Environment files often carry PEMs on one line with literal "\n".
    const pem = options.privateKeyPem.replace(/\\n/g, '\n');
    let imported: CryptoKey;
    try {
      imported = await importPKCS8(pem, options.alg, { extractable: true });
    } catch {
      throw new ConfigError(
        `Invalid configuration:\n  JWT_PRIVATE_KEY: is not a PKCS#8 PEM private key for ${options.alg} (npm run secrets prints one)`,
      );
    }
    return fromPrivateJwk(await exportJWK(imported), options.alg);
  }
  const file = join(options.dataDir, `jwt-signing-key.${options.alg}.json`);
  try {
    const stored: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (isPrivateJwk(stored)) return await fromPrivateJwk(stored, options.alg);
    throw new Error(`${file} is not a private JWK; delete it to generate a new development key.`);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
  }
  const { privateKey } = await generateKeyPair(options.alg, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  await mkdir(options.dataDir, { recursive: true });
  await writeFile(file, JSON.stringify(privateJwk), { mode: 0o600 });
  return fromPrivateJwk(privateJwk, options.alg);
}

/** The JSON Web Key Set served at `/.well-known/jwks.json`: public keys only. */
export function jwks(keys: readonly SigningKey[]): { keys: JWK[] } {
  return { keys: keys.map((key) => key.publicJwk) };
}
