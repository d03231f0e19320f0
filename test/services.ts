import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@supergraph/dev-mongo';

/** A service's workspace, as the tests that run compiled builds name it. */
export type Workspace = 'router' | 'subgraphs/users' | 'subgraphs/orders';

const PORT_VARIABLE: Readonly<Record<Workspace, string>> = {
  router: 'ROUTER_PORT',
  'subgraphs/users': 'USERS_PORT',
  'subgraphs/orders': 'ORDERS_PORT',
};

const repository = new URL('..', import.meta.url).pathname;

/** A compiled service running as a child process, with what it wrote to stdout and stderr. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** stdout and stderr so far, as they came. */
  readonly output: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/**
 * Starts a service as its Dockerfile does, with the workspace's `start` script, on a free port
 * on 127.0.0.1, with `env` and the test's PATH only. `root` is where the workspaces are (a copy
 * of the builds, for a test that must not see them rebuilt under it); `keepOutput` bounds how
 * much of its output is kept, the end of it.
 */
export async function spawnService(
  workspace: Workspace,
  env: Record<string, string>,
  { root = repository, keepOutput = Infinity }: { root?: string; keepOutput?: number } = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const manifest: unknown = JSON.parse(readFileSync(join(root, workspace, 'package.json'), 'utf8'));
  const start =
    typeof manifest === 'object' && manifest !== null
      ? Reflect.get(Reflect.get(manifest, 'scripts') ?? {}, 'start')
      : undefined;
  if (typeof start !== 'string') throw new Error(`${workspace} has no start script`);
  const [command = 'node', ...args] = start.split(' ');
  const child = spawn(command, args, {
    cwd: join(root, workspace),
    env: { PATH: process.env['PATH'], ...env, [PORT_VARIABLE[workspace]]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // A long test keeps only the end of what a service writes, for its failure messages.
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-keepOutput));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}/graphql`,
    get output() {
      return output;
    },
    exited: new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    ),
  };
}
