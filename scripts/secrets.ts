/**
 * `npm run secrets`: prints fresh production secrets in .env format, for docker-compose or any
 * deployment: the router-to-subgraph HMAC secret and the users service's token signing key.
 *
 *   npm run secrets >> .env
 */
import { randomBytes } from 'node:crypto';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';

/** One line with literal \n: .env files and most secret stores take that; the users service unescapes it. */
function oneLine(pem: string): string {
  return pem.trim().replace(/\n/g, '\\n');
}

const alg = process.argv[2] === 'ES256' ? 'ES256' : 'EdDSA';
const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
const pem = await exportPKCS8(privateKey);
const publicPem = await exportSPKI(publicKey);

console.log(`IDENTITY_SIGNING_SECRET=${randomBytes(32).toString('hex')}`);
console.log(`JWT_PRIVATE_KEY=${oneLine(pem)}`);
console.log(`JWT_ALG=${alg}`);
// Not a setting: the key's public half, which becomes JWT_PREVIOUS_PUBLIC_KEY when this key is
// rotated out (README, "Tokens"). A comment, so that appending this output to .env sets nothing.
console.log(
  `# public half, for JWT_PREVIOUS_PUBLIC_KEY at the next rotation: ${oneLine(publicPem)}`,
);
