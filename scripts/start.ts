/**
 * `npm start`: the whole graph on one machine, for development.
 *
 * 1. Finds a MongoDB (MONGODB_URI, else FerretDB on PATH, else mongodb-memory-server), keeping
 *    its data under .data/ so it survives restarts.
 * 2. Generates the router-to-subgraph signing secret, unless IDENTITY_SIGNING_SECRET is set.
 * 3. Runs each service from its sources with its workspace `start:src` script (`dev` with
 *    --watch), or, with --production, builds them and runs the `start` scripts: the very
 *    commands the Dockerfiles run. Prints the router's URL once the router is ready.
 *
 * Ctrl-C stops everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { NoMongoDbError, startDevMongo } from '@supergraph/dev-mongo';
import { buildServices } from './build.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = ['subgraphs/users', 'subgraphs/orders', 'router'] as const;
// `--production` runs what the Dockerfiles run, the compiled `start` scripts (built first);
// otherwise the sources, through tsx, and `--watch` restarts a service when its code changes.
const compiled = process.argv.includes('--production');
const script = process.argv.includes('--watch') ? 'dev' : compiled ? 'start' : 'start:src';

const WorkspacePackage = z.object({ scripts: z.record(z.string(), z.string()) });

function log(message: string): void {
  console.log(`[start] ${message}`);
}

const production = process.env['NODE_ENV'] === 'production';
if (production && !process.env['IDENTITY_SIGNING_SECRET']) {
  console.error('[start] IDENTITY_SIGNING_SECRET is required when NODE_ENV=production.');
  process.exit(1);
}

if (compiled) {
  log('Building the services (npm run build)');
  await buildServices();
}

const dataDir = resolve(root, process.env['DATA_DIR'] ?? '.data');
const mongo = await startDevMongo({ env: process.env, dataDir, log }).catch((error: unknown) => {
  if (!(error instanceof NoMongoDbError)) throw error;
  console.error(`[start] ${error.message}`);
  process.exit(1);
});

// The routing URLs in supergraph.graphql name the default ports; follow the ports if they moved.
const usersPort = process.env['USERS_PORT'] ?? '4001';
const ordersPort = process.env['ORDERS_PORT'] ?? '4002';
const routerPort = process.env['ROUTER_PORT'] ?? '4000';
// Each service's Prometheus metrics, on a port of its own (METRICS_PORT): 9090 to 9092 unless
// these say otherwise.
const metricsPorts: Record<(typeof SERVICES)[number], string> = {
  router: process.env['ROUTER_METRICS_PORT'] ?? '9090',
  'subgraphs/users': process.env['USERS_METRICS_PORT'] ?? '9091',
  'subgraphs/orders': process.env['ORDERS_METRICS_PORT'] ?? '9092',
};

const env: NodeJS.ProcessEnv = {
  USERS_URL: `http://127.0.0.1:${usersPort}/graphql`,
  ORDERS_URL: `http://127.0.0.1:${ordersPort}/graphql`,
  JWKS_URL: `http://127.0.0.1:${usersPort}/.well-known/jwks.json`,
  ...process.env,
  MONGODB_URI: mongo.uri,
  // A fresh secret each start is enough: the router and the subgraphs restart together.
  IDENTITY_SIGNING_SECRET:
    process.env['IDENTITY_SIGNING_SECRET'] ?? randomBytes(32).toString('hex'),
  // Absolute, because each service runs in its own workspace folder.
  DATA_DIR: dataDir,
};

const children: ChildProcess[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      ),
    );
    await mongo.stop();
  }
  process.exit(code);
}

for (const service of SERVICES) {
  const cwd = resolve(root, service);
  const command = WorkspacePackage.parse(
    JSON.parse(readFileSync(resolve(cwd, 'package.json'), 'utf8')),
  ).scripts[script];
  if (!command) throw new Error(`${service}/package.json has no "${script}" script`);
  // No shell: the script is a plain command line, and without a shell in between the signals
  // we send reach the service itself instead of an intermediate `sh`.
  if (/[|&;<>()$`'"\\*?]/.test(command))
    throw new Error(`${service}: "${command}" needs a shell; keep start scripts plain`);
  const [program = 'node', ...args] = command.split(/\s+/);
  const child = spawn(program === 'node' ? process.execPath : program, args, {
    cwd,
    env: { ...env, METRICS_PORT: metricsPorts[service] },
    stdio: 'inherit',
  });
  child.once('exit', (code, signal) => {
    if (stopping) return;
    // On Ctrl-C the terminal signals every process at once, so a service may stop before we do.
    const clean = code === 0 || signal === 'SIGINT' || signal === 'SIGTERM';
    if (!clean) console.error(`[start] ${service} stopped (exit code ${code}); stopping the rest.`);
    void stopAll(clean ? 0 : 1);
  });
  children.push(child);
}

process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));

// The router prints its own URL too; this line is the one a person looks for.
const routerUrl = `http://localhost:${routerPort}/graphql`;
for (let attempt = 0; attempt < 300 && !stopping; attempt++) {
  const up = await fetch(`http://127.0.0.1:${routerPort}/health/ready`).then(
    (response) => response.ok,
    () => false,
  );
  if (up) {
    log(`MongoDB: ${mongo.kind}${mongo.kind === 'external' ? '' : ` (${mongo.uri})`}`);
    log(`The graph is up: ${routerUrl}`);
    if (!production) log('Open it in a browser for Apollo Sandbox; log in as admin/a or user/u.');
    break;
  }
  await new Promise((done) => setTimeout(done, 200));
}
