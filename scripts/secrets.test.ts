import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** `npm run secrets:write`, the README's Docker Compose step, on a file of the test's own. */
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'supergraph-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const secrets = (...args: string[]) =>
  spawnSync('npx', ['tsx', 'scripts/secrets.ts', ...args], { cwd: root, encoding: 'utf8' });
const hasCompose = spawnSync('docker-compose', ['version']).status === 0;

describe('npm run secrets:write', () => {
  const envFile = join(dir, '.env');

  it('writes an .env that is dotenv lines only, with every placeholder secret replaced', () => {
    expect(secrets('--write', envFile).status).toBe(0);
    const lines = readFileSync(envFile, 'utf8').split('\n');
    for (const line of lines) {
      if (line === '' || line.startsWith('#')) continue;
      expect(line).toMatch(/^[A-Z][A-Z0-9_]*=/);
    }
    const value = (name: string) =>
      lines.find((line) => line.startsWith(`${name}=`))?.slice(name.length + 1);
    expect(value('IDENTITY_SIGNING_SECRET')).toMatch(/^[0-9a-f]{64}$/);
    expect(value('JWT_PRIVATE_KEY')).toMatch(
      /^-----BEGIN PRIVATE KEY-----\\n.+\\n-----END PRIVATE KEY-----$/,
    );
    expect(lines.filter((line) => line.endsWith('=change-me'))).toEqual([]);
  });

  it.skipIf(!hasCompose)('gives an .env that Docker Compose accepts', () => {
    const check = spawnSync('docker-compose', ['--env-file', envFile, 'config', '--quiet'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('leaves an .env whose secrets are set alone, and says so', () => {
    const before = readFileSync(envFile, 'utf8');
    const again = secrets('--write', envFile);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already sets IDENTITY_SIGNING_SECRET and JWT_PRIVATE_KEY/);
    expect(readFileSync(envFile, 'utf8')).toBe(before);
  });
});
