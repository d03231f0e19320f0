/**
 * The real graph, for the benchmark's "real graph" and "scaling" scenarios: FerretDB on SQLite
 * in a temporary folder, and the compiled router, users and orders services (`npm run build`'s
 * `dist/index.js`, started with each workspace's `start` script, as their Dockerfiles do) with
 * NODE_ENV=production, each a process of its own on 127.0.0.1, so that each one's CPU time can
 * be read from /proc. Seeded through the graph's own mutations: the admin creates the users,
 * who log in and place their orders.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { ferretDbArguments, freePort } from '@supergraph/dev-mongo';
import { mapAtMost } from '@supergraph/service-kit';
import { buildServices } from '../build.js';
import { ROOT, startScriptOf } from './children.js';
import { cpuMs } from './procfs.js';

/**
 * The processes whose CPU time the scenarios read. Two routers on the same subgraphs: the
 * default one, and one with DEDUPLICATE_SUBGRAPH_QUERIES=false, for loads whose identical
 * queries in flight would otherwise share one subgraph request.
 */
export const PROCESS_NAMES = ['router', 'router-no-dedupe', 'users', 'orders', 'ferretdb'] as const;
export type ProcessName = (typeof PROCESS_NAMES)[number];
export const ROUTER_NAMES = ['router', 'router-no-dedupe'] as const;
export type RouterName = (typeof ROUTER_NAMES)[number];

type ServiceName = Exclude<ProcessName, 'ferretdb'>;
const WORKSPACES: Record<ServiceName, string> = {
  router: 'router',
  'router-no-dedupe': 'router',
  users: 'subgraphs/users',
  orders: 'subgraphs/orders',
};
const PORT_VARIABLES: Record<ServiceName, string> = {
  router: 'ROUTER_PORT',
  'router-no-dedupe': 'ROUTER_PORT',
  users: 'USERS_PORT',
  orders: 'ORDERS_PORT',
};

const USERS_DB = 'bench_users';
const ORDERS_DB = 'bench_orders';
const STARTUP_TIMEOUT_MS = 60_000;

/**
 * Login throttling, raised for the benchmark (the users service's own settings): every login
 * here comes from 127.0.0.1 and goes to a few dozen usernames, so the defaults (100 logins per
 * address, 5 attempts per username from an unknown device) would refuse most of them.
 */
export const LOGIN_LIMITS: Readonly<Record<string, string>> = {
  LOGIN_MAX_PER_IP: '1000000',
  LOGIN_MAX_FAILURES_PER_USERNAME: '1000000',
  LOGIN_MAX_FAILURES_PER_IP: '1000000',
};

/** A user of the seeded graph, logged in. */
export interface Account {
  readonly id: string;
  readonly username: string;
  readonly password: string;
  readonly token: string;
  /** From the account's last login: a later login with it is a returning device's. */
  readonly deviceToken: string;
}

/** What the counters of the graph said at one moment; scenarios subtract two of them. */
export interface Snapshot {
  readonly cpuMs: Readonly<Record<ProcessName, number>>;
  /** MongoDB commands sent, by `<service> <command>`, from the subgraphs' Prometheus metrics. */
  readonly commands: ReadonlyMap<string, number>;
  /** Fetches each router made for operations, all subgraphs together, from its Prometheus metrics. */
  readonly fetches: Readonly<Record<RouterName, number>>;
}

export interface BenchGraph {
  readonly routerUrl: string;
  /** The router with DEDUPLICATE_SUBGRAPH_QUERIES=false. */
  readonly routerNoDedupeUrl: string;
  /** The orders subgraph's own /graphql, for requests signed as the router signs them. */
  readonly ordersUrl: string;
  readonly identitySecret: string;
  readonly pids: Readonly<Record<ProcessName, number>>;
  readonly admin: Account;
  /** The seeded users, each with `ordersPerUser` orders to start with. */
  readonly users: readonly Account[];
  readonly ordersPerUser: number;
  snapshot(): Promise<Snapshot>;
  /**
   * Resolves once the graph's processes together use less than a tenth of a core (or after
   * 20 s): the work of a load's last requests is done, and none of it leaks into the next window.
   */
  waitIdle(): Promise<void>;
  /** Orders in the database, counted there. */
  countOrders(): Promise<number>;
  /** Deletes, in the database, the orders whose item is `item`: those a load placed. */
  deleteOrders(item: string): Promise<number>;
  /** Deletes, in the database, every login attempt the throttle filed. */
  clearLoginAttempts(): Promise<void>;
  /** The end of each service's log, for a failure message. */
  logs(): string;
  stop(): Promise<void>;
}

export interface GraphQLAnswer {
  readonly status: number;
  readonly data: Record<string, unknown> | undefined;
  readonly errors: unknown;
}

/** POSTs a GraphQL request, as a client does. */
export async function graphql(
  url: string,
  query: string,
  { variables, token }: { variables?: Record<string, unknown>; token?: string } = {},
): Promise<GraphQLAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${url} answered HTTP ${response.status}, not JSON: ${text.slice(0, 300)}`);
  }
  const data: unknown = isRecord(parsed) ? parsed['data'] : undefined;
  return {
    status: response.status,
    data: isRecord(data) ? data : undefined,
    errors: isRecord(parsed) ? parsed['errors'] : undefined,
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `data` of a GraphQL answer's body, or undefined when the body is not JSON. */
export function dataOf(body: string): unknown {
  try {
    return at(JSON.parse(body), 'data');
  } catch {
    return undefined;
  }
}

/** The value at `path` in parsed JSON, or undefined. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof key === 'number') current = Array.isArray(current) ? current[key] : undefined;
    else current = isRecord(current) ? current[key] : undefined;
  }
  return current;
}

const LOGIN = /* GraphQL */ `
  mutation Login($username: String!, $password: String!, $deviceToken: String) {
    login(username: $username, password: $password, deviceToken: $deviceToken) {
      accessToken
      deviceToken
      user {
        id
      }
    }
  }
`;
const CREATE_USER = /* GraphQL */ `
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
    }
  }
`;
export const CREATE_ORDER = /* GraphQL */ `
  mutation CreateOrder($input: CreateOrderInput!) {
    createOrder(input: $input) {
      id
      item
    }
  }
`;

async function login(
  routerUrl: string,
  username: string,
  password: string,
  deviceToken?: string,
): Promise<Account> {
  const answer = await graphql(routerUrl, LOGIN, {
    variables: { username, password, deviceToken: deviceToken ?? null },
  });
  const token = at(answer.data, 'login', 'accessToken');
  const device = at(answer.data, 'login', 'deviceToken');
  const id = at(answer.data, 'login', 'user', 'id');
  if (typeof token !== 'string' || typeof device !== 'string' || typeof id !== 'string') {
    throw new Error(`login as ${username} failed: ${JSON.stringify(answer.errors)}`);
  }
  return { id, username, password, token, deviceToken: device };
}

/** Every sample of one counter in a Prometheus text scrape, by its labels. */
async function scrape(
  url: string,
  metric: string,
): Promise<{ labels: Record<string, string>; value: number }[]> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`${url} answered HTTP ${response.status}`);
  const samples: { labels: Record<string, string>; value: number }[] = [];
  for (const line of (await response.text()).split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const match = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (name !== undefined && value !== undefined) labels[name] = value;
    }
    samples.push({ labels, value: Number(match[2]) });
  }
  return samples;
}

interface RunningProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
}

function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  { cwd, env, logDir }: { cwd: string; env: Record<string, string>; logDir: string },
): RunningProcess {
  const logFile = join(logDir, `${name}.log`);
  // A file, not a pipe: the benchmark's own process, which runs autocannon, must not spend CPU
  // reading the services' access logs.
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', APOLLO_TELEMETRY_DISABLED: 'true', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  return { child, logFile };
}

function tail(file: string, chars = 3_000): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}

async function waitUntil(what: () => string, ready: () => Promise<boolean>, child: ChildProcess) {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!(await ready().catch(() => false))) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what()}: exited with ${child.exitCode ?? child.signalCode}`);
    if (Date.now() > deadline) throw new Error(`${what()}: not ready in ${STARTUP_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopProcess({ child }: RunningProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** How many users and orders the graph is seeded with. */
export interface GraphSize {
  readonly users: number;
  readonly ordersPerUser: number;
}

/**
 * Builds the services, starts FerretDB and the graph, and seeds it. Everything started is
 * stopped, and the temporary folder removed, by `stop` (or here, when starting fails).
 */
export async function startGraph(
  size: GraphSize,
  log: (line: string) => void,
): Promise<BenchGraph> {
  const started = performance.now();
  const scratch = mkdtempSync(join(tmpdir(), 'bench-graph-'));
  const processes: RunningProcess[] = [];
  let mongo: MongoClient | undefined;
  const stop = async () => {
    await mongo?.close().catch(() => {});
    // The router first, FerretDB last: each one's clients leave before it does.
    for (const running of [...processes].reverse()) await stopProcess(running);
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    // What production runs: the compiled builds, made from the sources as they are now.
    await buildServices();

    const ferretPort = await freePort();
    const ferretDir = join(scratch, 'ferretdb');
    mkdirSync(ferretDir);
    const ferret = startProcess('ferretdb', 'ferretdb', ferretDbArguments(ferretDir, ferretPort), {
      cwd: scratch,
      env: {},
      logDir: scratch,
    });
    // `ferretdb` missing from PATH is an 'error' event, not an exit.
    const spawnFailed = new Promise<never>((_, reject) =>
      ferret.child.once('error', (error) =>
        reject(
          new Error(
            `FerretDB could not be started (${error.message}): install it with bash scripts/install-ferretdb.sh and put ~/go/bin on PATH`,
          ),
        ),
      ),
    );
    processes.push(ferret);
    const mongodbUri = `mongodb://127.0.0.1:${ferretPort}/`;
    mongo = new MongoClient(mongodbUri, { serverSelectionTimeoutMS: 2_000 });
    const client = mongo;
    await Promise.race([
      spawnFailed,
      waitUntil(
        () => `FerretDB\n${tail(ferret.logFile)}`,
        async () => {
          await client.db('admin').command({ ping: 1 });
          return true;
        },
        ferret.child,
      ),
    ]);

    const identitySecret = randomBytes(32).toString('hex');
    const adminPassword = randomBytes(12).toString('base64url');
    const ports: Record<ServiceName, number> = {
      router: await freePort(),
      'router-no-dedupe': await freePort(),
      users: await freePort(),
      orders: await freePort(),
    };
    const metricsPorts: Record<ServiceName, number> = {
      router: await freePort(),
      'router-no-dedupe': await freePort(),
      users: await freePort(),
      orders: await freePort(),
    };
    const common = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      IDENTITY_SIGNING_SECRET: identitySecret,
      // A stop at the end need not wait for the usual grace.
      SHUTDOWN_GRACE_MS: '2000',
    };
    const origin = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;
    const routerEnv = {
      ...common,
      USERS_URL: `${origin('users')}/graphql`,
      ORDERS_URL: `${origin('orders')}/graphql`,
      JWKS_URL: `${origin('users')}/.well-known/jwks.json`,
      // The benchmark's operations are its own, not the example app's trusted documents.
      PERSISTED_DOCUMENTS_MODE: 'off',
    };
    const envs: Record<ServiceName, Record<string, string>> = {
      users: {
        ...common,
        MONGODB_URI: mongodbUri,
        USERS_DB,
        JWT_PRIVATE_KEY: generateKeyPairSync('ed25519')
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
        // Longer than any run, so that no token expires during one.
        JWT_TTL_SECONDS: '3600',
        SEED_ADMIN_PASSWORD: adminPassword,
        DATA_DIR: join(scratch, 'users-data'),
        ...LOGIN_LIMITS,
      },
      orders: { ...common, MONGODB_URI: mongodbUri, ORDERS_DB },
      router: routerEnv,
      'router-no-dedupe': { ...routerEnv, DEDUPLICATE_SUBGRAPH_QUERIES: 'false' },
    };
    const services: Partial<Record<ServiceName, RunningProcess>> = {};
    const startService = async (name: ServiceName) => {
      const workspace = join(ROOT, WORKSPACES[name]);
      const [command = 'node', ...args] = startScriptOf(WORKSPACES[name]);
      const running = startProcess(name, command, args, {
        cwd: workspace,
        env: {
          ...envs[name],
          [PORT_VARIABLES[name]]: String(ports[name]),
          METRICS_PORT: String(metricsPorts[name]),
        },
        logDir: scratch,
      });
      processes.push(running);
      services[name] = running;
      await waitUntil(
        () => `${name}\n${tail(running.logFile)}`,
        async () => (await fetch(`${origin(name)}/health/ready`)).status === 200,
        running.child,
      );
    };
    // The subgraphs side by side; the router after them, since it loads nothing until they answer.
    await Promise.all([startService('users'), startService('orders')]);
    await Promise.all([startService('router'), startService('router-no-dedupe')]);
    const pidOf = (running: RunningProcess | undefined) => running?.child.pid ?? 0;
    const pids = {
      router: pidOf(services.router),
      'router-no-dedupe': pidOf(services['router-no-dedupe']),
      users: pidOf(services.users),
      orders: pidOf(services.orders),
      ferretdb: pidOf(ferret),
    };

    const routerUrl = `${origin('router')}/graphql`;
    const admin = await login(routerUrl, 'admin', adminPassword);
    const password = randomBytes(12).toString('base64url');
    const users = await mapAtMost(
      4,
      Array.from({ length: size.users }, (_, n) => `bench-user-${n}`),
      async (username) => {
        const created = await graphql(routerUrl, CREATE_USER, {
          token: admin.token,
          variables: { input: { username, password } },
        });
        if (typeof at(created.data, 'createUser', 'id') !== 'string') {
          throw new Error(`createUser ${username} failed: ${JSON.stringify(created.errors)}`);
        }
        return login(routerUrl, username, password);
      },
    );
    const orders = users.flatMap((user) =>
      Array.from({ length: size.ordersPerUser }, (_, n) => ({ user, n })),
    );
    await mapAtMost(8, orders, async ({ user, n }) => {
      const placed = await graphql(routerUrl, CREATE_ORDER, {
        token: user.token,
        variables: { input: { item: `seed item ${n}`, address: `${n} Seed Street` } },
      });
      if (typeof at(placed.data, 'createOrder', 'id') !== 'string') {
        throw new Error(`createOrder as ${user.username} failed: ${JSON.stringify(placed.errors)}`);
      }
    });
    log(
      `real graph: FerretDB and the compiled services up, ${users.length} users and ${orders.length} orders seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const metricsUrl = (name: ServiceName) => `http://127.0.0.1:${metricsPorts[name]}/metrics`;
    return {
      routerUrl,
      routerNoDedupeUrl: `${origin('router-no-dedupe')}/graphql`,
      ordersUrl: `${origin('orders')}/graphql`,
      identitySecret,
      pids,
      admin,
      users,
      ordersPerUser: size.ordersPerUser,
      async snapshot() {
        const commands = new Map<string, number>();
        for (const name of ['users', 'orders'] as const) {
          for (const { labels, value } of await scrape(
            metricsUrl(name),
            'supergraph_mongodb_command_duration_seconds_count',
          )) {
            const key = `${labels['service'] ?? name} ${labels['command'] ?? '?'}`;
            commands.set(key, (commands.get(key) ?? 0) + value);
          }
        }
        const fetchesOf = async (name: RouterName) =>
          (await scrape(metricsUrl(name), 'supergraph_router_subgraph_fetches_total')).reduce(
            (total, { value }) => total + value,
            0,
          );
        return {
          cpuMs: {
            router: cpuMs(pids.router),
            'router-no-dedupe': cpuMs(pids['router-no-dedupe']),
            users: cpuMs(pids.users),
            orders: cpuMs(pids.orders),
            ferretdb: cpuMs(pids.ferretdb),
          },
          commands,
          fetches: {
            router: await fetchesOf('router'),
            'router-no-dedupe': await fetchesOf('router-no-dedupe'),
          },
        };
      },
      async waitIdle() {
        const total = () => PROCESS_NAMES.reduce((sum, name) => sum + cpuMs(pids[name]), 0);
        const deadline = Date.now() + 20_000;
        let last = total();
        while (Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          const now = total();
          if (now - last < 25) return;
          last = now;
        }
      },
      countOrders: () => client.db(ORDERS_DB).collection('orders').countDocuments(),
      deleteOrders: async (item) =>
        (await client.db(ORDERS_DB).collection('orders').deleteMany({ item })).deletedCount,
      async clearLoginAttempts() {
        // The users service's own collection (subgraphs/users/src/db/loginThrottle.ts).
        await client.db(USERS_DB).collection('loginAttempts').deleteMany({});
      },
      logs: () =>
        processes.map(({ logFile }) => `--- ${logFile}\n${tail(logFile, 2_000)}`).join('\n'),
      stop,
    };
  } catch (error) {
    const logs = processes
      .map(({ logFile }) => `--- ${logFile}\n${tail(logFile, 2_000)}`)
      .join('\n');
    await stop();
    throw new Error(
      `the real graph did not start: ${error instanceof Error ? error.message : String(error)}\nthe services' logs, last lines:\n${logs}`,
    );
  }
}
