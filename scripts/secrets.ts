/**
 * `npm run secrets`: prints fresh production secrets in .env format, for docker-compose or any
 * deployment: the router-to-subgraph HMAC secret and the users service's token signing key.
 *
 *   npm run secrets >> .env
 */
import { randomBytes } from 'node:crypto';
import { exportPKCS8, generateKeyPair } from 'jose';

const alg = process.argv[2] === 'ES256' ? 'ES256' : 'EdDSA';
const { privateKey } = await generateKeyPair(alg, { extractable: true });
const pem = await exportPKCS8(privateKey);

console.log(`IDENTITY_SIGNING_SECRET=${randomBytes(32).toString('hex')}`);
// One line with literal \n: .env files and most secret stores take that; the users service unescapes it.
console.log(`JWT_PRIVATE_KEY=${pem.trim().replace(/\n/g, '\\n')}`);
console.log(`JWT_ALG=${alg}`);
