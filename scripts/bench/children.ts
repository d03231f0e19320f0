/**
 * The benchmark's own TypeScript children (the in-memory subgraphs, each gateway): started with
 * tsx, they say over IPC that they listen, and stop when the IPC channel closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;
const STARTUP_TIMEOUT_MS = 60_000;

/** A workspace's `start` script (its folder relative to the repository), as words. */
export function startScriptOf(workspace: string): string[] {
  const manifest = JSON.parse(readFileSync(join(ROOT, workspace, 'package.json'), 'utf8')) as {
    scripts?: { start?: unknown };
  };
  const start = manifest.scripts?.start;
  if (typeof start !== 'string') throw new Error(`${workspace} has no start script`);
  return start.split(/\s+/);
}

/**
 * The Node options of a workspace's `start` script (what production runs it with, e.g. the
 * router's heap settings), so that a gateway measured in-process runs as it would in production.
 */
export function startFlagsOf(workspace: string): string[] {
  const [, ...words] = startScriptOf(workspace);
  return words.filter((word) => word.startsWith('--'));
}

/** Starts a child process of the benchmark and waits for the message that says it is listening. */
export function spawnChild<T>(
  args: string[],
  env: Record<string, string>,
  isReady: (message: unknown) => message is T,
  nodeFlags: readonly string[] = [],
): Promise<{ child: ChildProcess; ready: T }> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', ...args], {
    cwd: ROOT,
    // Logs are not what is measured; stderr shows a crash.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      APOLLO_TELEMETRY_DISABLED: 'true',
      ...env,
    },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not start within ${STARTUP_TIMEOUT_MS} ms`));
    }, STARTUP_TIMEOUT_MS);
    child.once('message', (message) => {
      clearTimeout(timer);
      if (isReady(message)) resolve({ child, ready: message });
      else reject(new Error(`${args.join(' ')} sent ${JSON.stringify(message)}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code} before it was ready`));
    });
  });
}

/** Closes the child's IPC channel, which stops it; SIGKILL after 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
