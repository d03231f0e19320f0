import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@supergraph/service-kit';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  importSPKI,
  type CryptoKey,
  type JWK,
} from 'jose';

export type SigningAlgorithm = 'EdDSA' | 'ES256';
const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['EdDSA', 'ES256'];

/** A public key that the JWKS publishes and that tokens are verified with. */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly publicJwk: JWK;
}

/** The key that signs access and refresh tokens, with the public half that the JWKS publishes. */
export interface SigningKey extends VerificationKey {
  readonly privateKey: CryptoKey;
}

/**
 * The keys of the users subgraph: the current one signs; the previous ones are only published
 * and trusted, so that tokens signed before a rotation stay valid until they expire.
 */
export interface SigningKeys {
  readonly current: SigningKey;
  readonly previous: readonly VerificationKey[];
}

function isJwk(value: unknown): value is JWK {
  return (
    typeof value === 'object' && value !== null && 'kty' in value && typeof value.kty === 'string'
  );
}

function isPrivateJwk(value: unknown): value is JWK {
  return isJwk(value) && 'd' in value && typeof value.d === 'string';
}

function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return SIGNING_ALGORITHMS.some((alg) => alg === value);
}

async function fromPublicJwk(jwk: JWK, alg: SigningAlgorithm): Promise<VerificationKey> {
  const { d: _d, kid: _kid, alg: _alg, use: _use, key_ops: _ops, ext: _ext, ...bare } = jwk;
  const kid = await calculateJwkThumbprint(bare);
  return { kid, alg, publicJwk: { ...bare, kid, alg, use: 'sig' } };
}

async function fromPrivateJwk(privateJwk: JWK, alg: SigningAlgorithm): Promise<SigningKey> {
  const privateKey = await importJWK(privateJwk, alg);
  if (privateKey instanceof Uint8Array) throw new Error('expected an asymmetric key');
  return { ...(await fromPublicJwk(privateJwk, alg)), privateKey };
}

/** A fresh key pair, kept in memory. Tests use this; development persists one (below). */
export async function generateSigningKey(alg: SigningAlgorithm = 'EdDSA'): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return fromPrivateJwk(await exportJWK(privateKey), alg);
}

/** Where development keeps the current private key and the previous public key. */
function developmentKeyFiles(dataDir: string, alg: SigningAlgorithm) {
  return {
    current: join(dataDir, `jwt-signing-key.${alg}.json`),
    previous: join(dataDir, `jwt-previous-key.${alg}.public.json`),
  };
}

async function readJsonIfPresent(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes through a temporary file and a rename, so that a crash never leaves half a key. */
async function writeKeyFile(file: string, jwk: JWK): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(jwk), { mode: 0o600 });
  await rename(temporary, file);
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
  const file = developmentKeyFiles(options.dataDir, options.alg).current;
  const stored = await readJsonIfPresent(file);
  if (stored !== undefined) {
    if (isPrivateJwk(stored)) return fromPrivateJwk(stored, options.alg);
    throw new Error(`${file} is not a private JWK; delete it to generate a new development key.`);
  }
  const { privateKey } = await generateKeyPair(options.alg, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  await mkdir(options.dataDir, { recursive: true });
  await writeKeyFile(file, privateJwk);
  return fromPrivateJwk(privateJwk, options.alg);
}

/**
 * The previous public key, if any: from `JWT_PREVIOUS_PUBLIC_KEY` (SPKI PEM) in production, or
 * the file `npm run keys:rotate` leaves in the data folder in development. It is published and
 * trusted, never used to sign. Its algorithm may differ from the current key's, so that a
 * rotation can also move from EdDSA to ES256.
 */
export async function loadPreviousKey(options: {
  alg: SigningAlgorithm;
  privateKeyPem: string | undefined;
  previousPublicKeyPem: string | undefined;
  dataDir: string;
}): Promise<VerificationKey | undefined> {
  if (options.previousPublicKeyPem) {
    const pem = options.previousPublicKeyPem.replace(/\\n/g, '\n');
    for (const alg of [options.alg, ...SIGNING_ALGORITHMS.filter((a) => a !== options.alg)]) {
      try {
        const key = await importSPKI(pem, alg, { extractable: true });
        return await fromPublicJwk(await exportJWK(key), alg);
      } catch {
        // Not a key for this algorithm; try the next one.
      }
    }
    throw new ConfigError(
      'Invalid configuration:\n  JWT_PREVIOUS_PUBLIC_KEY: is not an SPKI PEM public key for EdDSA or ES256 (the "-----BEGIN PUBLIC KEY-----" of the previous JWT_PRIVATE_KEY)',
    );
  }
  // A development file must not quietly add a trusted key to a deployment with real keys.
  if (options.privateKeyPem) return undefined;
  const file = developmentKeyFiles(options.dataDir, options.alg).previous;
  const stored = await readJsonIfPresent(file);
  if (stored === undefined) return undefined;
  if (!isJwk(stored) || !isSigningAlgorithm(stored.alg)) {
    throw new Error(`${file} is not a public JWK with an "alg"; delete it or rotate again.`);
  }
  return fromPublicJwk(stored, stored.alg);
}

/** The current and previous keys, the way the users subgraph starts with them. */
export async function loadSigningKeys(options: {
  alg: SigningAlgorithm;
  privateKeyPem: string | undefined;
  previousPublicKeyPem: string | undefined;
  dataDir: string;
}): Promise<SigningKeys> {
  const current = await loadSigningKey(options);
  const previous = await loadPreviousKey(options);
  return { current, previous: previous && previous.kid !== current.kid ? [previous] : [] };
}

/**
 * `npm run keys:rotate` in development: the current key becomes the previous one (only its
 * public half is kept: it must never sign again), and a new current key is generated. The key
 * before the previous one is no longer published, so tokens signed with it stop working.
 * Restart the users subgraph to use the new keys.
 */
export async function rotateDevelopmentKeys(options: {
  alg: SigningAlgorithm;
  dataDir: string;
}): Promise<SigningKeys> {
  const files = developmentKeyFiles(options.dataDir, options.alg);
  await mkdir(options.dataDir, { recursive: true });
  const stored = await readJsonIfPresent(files.current);
  if (stored !== undefined) {
    if (!isPrivateJwk(stored)) throw new Error(`${files.current} is not a private JWK.`);
    // The previous key first: a crash before the new key is written leaves the old key current
    // and also "previous", which is harmless.
    await writeKeyFile(files.previous, (await fromPrivateJwk(stored, options.alg)).publicJwk);
  }
  const { privateKey } = await generateKeyPair(options.alg, { extractable: true });
  await writeKeyFile(files.current, await exportJWK(privateKey));
  return loadSigningKeys({
    alg: options.alg,
    privateKeyPem: undefined,
    previousPublicKeyPem: undefined,
    dataDir: options.dataDir,
  });
}

/** The JSON Web Key Set served at `/.well-known/jwks.json`: public keys only, current first. */
export function jwks(keys: readonly VerificationKey[]): { keys: JWK[] } {
  return { keys: keys.map((key) => key.publicJwk) };
}
