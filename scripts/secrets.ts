/**
 * `npm run secrets`: fresh production secrets, for docker-compose or any deployment: the
 * router-to-subgraph HMAC secret and the users service's token signing key.
 *
 *   npm run secrets:write          # writes them into .env (made from .env.example if missing)
 *   npm run secrets                # prints them, in .env format, for a secret store
 *
 * Writing goes through this script, never `>>`: npm prints its own banner lines on stdout, and
 * Docker Compose refuses an .env file that has them. An .env whose secrets are already set (not
 * `change-me`) is left alone: new ones would log everybody out and break the key rotation.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';

/** One line with literal \n: .env files and most secret stores take that; the users service unescapes it. */
function oneLine(pem: string): string {
  return pem.trim().replace(/\n/g, '\\n');
}

const args = process.argv.slice(2);
const writeIndex = args.indexOf('--write');
const target = writeIndex === -1 ? undefined : resolve(args[writeIndex + 1] ?? '.env');
const alg = args.includes('ES256') ? 'ES256' : 'EdDSA';

const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
const settings: Record<string, string> = {
  IDENTITY_SIGNING_SECRET: randomBytes(32).toString('hex'),
  JWT_PRIVATE_KEY: oneLine(await exportPKCS8(privateKey)),
  JWT_ALG: alg,
};
// Not a setting: the key's public half, which becomes JWT_PREVIOUS_PUBLIC_KEY when this key is
// rotated out (README, "Tokens"). A comment, so that it sets nothing.
const publicHalf = `# public half, for JWT_PREVIOUS_PUBLIC_KEY at the next rotation: ${oneLine(await exportSPKI(publicKey))}`;

if (!target) {
  for (const [name, value] of Object.entries(settings)) process.stdout.write(`${name}=${value}\n`);
  process.stdout.write(`${publicHalf}\n`);
} else {
  if (!existsSync(target)) copyFileSync(resolve(import.meta.dirname, '../.env.example'), target);
  const lines = readFileSync(target, 'utf8').split('\n');
  const current = (name: string) =>
    lines.find((line) => line.startsWith(`${name}=`))?.slice(name.length + 1);
  const alreadySet = ['IDENTITY_SIGNING_SECRET', 'JWT_PRIVATE_KEY'].filter((name) => {
    const value = current(name);
    return value !== undefined && value !== '' && value !== 'change-me';
  });
  if (alreadySet.length > 0) {
    process.stderr.write(
      `${target} already sets ${alreadySet.join(' and ')}; left as it is. To rotate the signing key, follow the README's "Tokens" section.\n`,
    );
    process.exit(1);
  }
  const written = new Set<string>();
  const updated = lines.map((line) => {
    const name = /^([A-Z_]+)=/.exec(line)?.[1];
    if (!name || !(name in settings)) return line;
    written.add(name);
    return `${name}=${settings[name]}`;
  });
  const missing = Object.keys(settings).filter((name) => !written.has(name));
  const text = [
    ...updated.filter((line, index) => line !== '' || index < updated.length - 1),
    ...missing.map((name) => `${name}=${settings[name]}`),
    publicHalf,
    '',
  ].join('\n');
  writeFileSync(target, text, { mode: 0o600 });
  process.stdout.write(`Wrote fresh secrets into ${target}.\n`);
}
