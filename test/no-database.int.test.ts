import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * A newcomer with no MongoDB, no FerretDB and no internet runs `npm start`: one message that
 * says how to get a database, and a failing exit, not a download's stack trace. The run happens
 * in a network namespace with only loopback (so the download cannot succeed, and nothing leaves
 * the machine), with the PATH of the test less any folder that holds ferretdb.
 */
const root = new URL('..', import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), 'supergraph-no-database-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const canIsolate = spawnSync('unshare', ['-rn', 'true']).status === 0;
const ci = process.env['CI'] === 'true';

describe.skipIf(!canIsolate && !ci)('npm start with no database to be had', () => {
  it('prints the three ways to get one, once, and exits 1', () => {
    const run = spawnSync('unshare', ['-rn', 'npm', 'start'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      // A clean environment: no MONGODB_URI, a HOME without mongodb-memory-server's cache.
      env: {
        HOME: home,
        PATH: (process.env['PATH'] ?? '')
          .split(delimiter)
          .filter((dir) => !existsSync(join(dir, 'ferretdb')))
          .join(delimiter),
        DATA_DIR: join(home, 'data'),
      },
    });
    const output = run.stdout + run.stderr;
    expect(run.status, output).toBe(1);
    expect(output.match(/No MongoDB is available/g)).toHaveLength(1);
    expect(output).toContain('MONGODB_URI');
    expect(output).toContain('scripts/install-ferretdb.sh');
    expect(output).toContain('internet access');
    // No stack trace: no "    at frame (file:line)" lines.
    expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  }, 150_000);
});
