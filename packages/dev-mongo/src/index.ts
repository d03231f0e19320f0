import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/**
 * A MongoDB for development and tests, found in the order issue #2 sets out:
 *
 * 1. `MONGODB_URI`, if set: nothing is started;
 * 2. else FerretDB with its SQLite backend, if a `ferretdb` binary is on PATH;
 * 3. else mongodb-memory-server, a real mongod (downloaded on first use, then cached).
 *
 * It always listens on 127.0.0.1 only.
 */
export interface DevMongo {
  readonly uri: string;
  readonly kind: 'external' | 'ferretdb' | 'mongodb-memory-server';
  /** Stops what was started; a no-op for an external server. */
  stop(): Promise<void>;
}

export interface StartDevMongoOptions {
  /** The environment to read `MONGODB_URI` and `PATH` from. */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Where an embedded server keeps its files. Give a stable folder to keep data across restarts
   * (`npm start` uses `.data/`), or a fresh temporary one for tests.
   */
  dataDir: string;
  log?: (message: string) => void;
}

export async function startDevMongo({
  env,
  dataDir,
  log = () => {},
}: StartDevMongoOptions): Promise<DevMongo> {
  if (env['MONGODB_URI']) {
    log('Using the MongoDB at MONGODB_URI.');
    return { uri: env['MONGODB_URI'], kind: 'external', stop: async () => {} };
  }
  const ferretdb = findOnPath('ferretdb', env['PATH'] ?? '');
  if (ferretdb) return startFerretDb(ferretdb, join(dataDir, 'ferretdb'), log);
  return startMemoryServer(join(dataDir, 'mongod'), log);
}

function findOnPath(command: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** FerretDB's command line: SQLite files in `dir`, on 127.0.0.1 only, no telemetry. */
export function ferretDbArguments(dir: string, port: number): string[] {
  return [
    '--handler=sqlite',
    `--sqlite-url=file:${dir}/`,
    `--state-dir=${dir}`,
    `--listen-addr=127.0.0.1:${port}`,
    '--telemetry=disable',
    // Its metrics endpoint would otherwise take the fixed port 8088, and clash with a second instance.
    '--debug-addr=-',
    '--log-level=error',
  ];
}

async function startFerretDb(
  binary: string,
  dir: string,
  log: (message: string) => void,
): Promise<DevMongo> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  log(`Starting FerretDB (${binary}) on 127.0.0.1:${port}, data in ${dir}`);
  const child = spawn(binary, ferretDbArguments(dir, port), {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port, child);
  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    kind: 'ferretdb',
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function startMemoryServer(
  dbPath: string,
  log: (message: string) => void,
): Promise<DevMongo> {
  mkdirSync(dbPath, { recursive: true });
  log(
    `Starting mongod through mongodb-memory-server, data in ${dbPath} (the first run downloads mongod)`,
  );
  // Loaded only on this path: it is heavy, and FerretDB or MONGODB_URI users never need it.
  const { MongoMemoryServer } = await import('mongodb-memory-server-core');
  let server: InstanceType<typeof MongoMemoryServer>;
  // mongodb-memory-server prints every failure to start with its whole stack through
  // console.warn; the one message a person needs is NoMongoDbError's, so it is muted meanwhile.
  // eslint-disable-next-line no-console
  const warn = console.warn;
  // eslint-disable-next-line no-console
  console.warn = () => {};
  try {
    server = await MongoMemoryServer.create({
      instance: { ip: '127.0.0.1', dbPath, storageEngine: 'wiredTiger' },
    });
  } catch (error) {
    throw new NoMongoDbError(error instanceof Error ? error.message : String(error));
  } finally {
    // eslint-disable-next-line no-console
    console.warn = warn;
  }
  return {
    uri: server.getUri(),
    kind: 'mongodb-memory-server',
    // Keep the files: they are the development data.
    stop: async () => {
      await server.stop({ doCleanup: false });
    },
  };
}

/**
 * No MongoDB could be found or started: what a person needs to read, and nothing else. The
 * cause (most often a download that cannot reach the internet) is one line at the end.
 */
export class NoMongoDbError extends Error {
  constructor(cause: string) {
    super(
      [
        'No MongoDB is available. Any one of these gives the graph a database:',
        '  1. set MONGODB_URI to a MongoDB you run (mongodb://host:27017/), or',
        '  2. install FerretDB, which needs only Go: bash scripts/install-ferretdb.sh, or',
        '  3. allow internet access once, for mongodb-memory-server to download mongod.',
        `(mongodb-memory-server: ${cause.replace(/\s+/g, ' ').trim()})`,
      ].join('\n'),
    );
    this.name = 'NoMongoDbError';
  }
}

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port; fails if the process dies first. */
async function waitForPort(port: number, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`FerretDB exited with code ${child.exitCode} before it was ready`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`FerretDB did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}
