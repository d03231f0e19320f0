/**
 * `npm run keys:rotate`: rotates the development token signing key in the data folder.
 *
 * The current key becomes the previous one (its public half only: it never signs again) and a
 * new key becomes current. The users subgraph publishes both in its JWKS, so tokens signed
 * before the rotation stay valid until they expire; the key before the previous one is dropped,
 * and tokens signed with it stop working. Restart `npm start` to use the new key.
 *
 * Production keys come from JWT_PRIVATE_KEY and JWT_PREVIOUS_PUBLIC_KEY instead; the README's
 * "Tokens" section has that procedure.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { rotateDevelopmentKeys } from '../subgraphs/users/src/auth/keys.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The same defaults as the users subgraph's config and `npm start`.
const dataDir = resolve(root, process.env['DATA_DIR'] ?? '.data');
const alg = z
  .enum(['EdDSA', 'ES256'])
  .default('EdDSA')
  .parse(process.env['JWT_ALG'] || undefined);

if (process.env['JWT_PRIVATE_KEY']) {
  console.warn(
    '[keys:rotate] JWT_PRIVATE_KEY is set, and the users subgraph signs with it, not with the ' +
      'development key rotated here. See "Tokens" in the README for rotating production keys.',
  );
}

const { current, previous } = await rotateDevelopmentKeys({ alg, dataDir });
console.log(`[keys:rotate] ${alg} keys in ${dataDir}`);
console.log(`[keys:rotate]   current (signs):          ${current.kid}`);
for (const key of previous) console.log(`[keys:rotate]   previous (verifies only): ${key.kid}`);
console.log('[keys:rotate] Restart the users subgraph (npm start) to use them.');
