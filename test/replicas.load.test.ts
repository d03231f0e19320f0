import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { spawnService, type ServiceProcess, type Workspace } from './services.js';

/**
 * The graph as replicas, the way a Deployment of two pods per service runs it, without
 * Kubernetes: two routers, two users and two orders processes (the compiled builds, as their
 * Dockerfiles start them, NODE_ENV=production) on one database, with a round-robin HTTP proxy
 * in front of each tier standing in for a Service. Under a steady load of clients that read,
 * order, log in and refresh, every replica of every tier is restarted in turn (SIGTERM, exit,
 * start again, ready, next), and the clients must notice nothing: no 5xx, no lost order, no
 * failed login or refresh; login throttling and revocation hold across replicas.
 *
 * The proxies do what a load balancer does and no more: they poll `/health/ready` every 100 ms
 * and send only to replicas that said 200, and they try the other replica when a connection
 * is refused (the request was not sent). Every request gets a connection of its own upstream,
 * so that no request is ever written to a socket the replica is closing at that moment: with
 * kept-alive upstream connections that race is unavoidable in HTTP/1.1 and a proxy cannot tell
 * whether a POST cut that way ran.
 *
 * It is a load test (`*.load.test.ts`): seven processes and a steady load for about half a
 * minute would slow every test running beside it on a small machine.
 */
const root = new URL('..', import.meta.url).pathname;
const suffix = randomBytes(3).toString('hex');
const scratch = mkdtempSync(join(tmpdir(), 'supergraph-replicas-'));
const secret = randomBytes(32).toString('hex');
const privateKey = generateKeyPairSync('ed25519')
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const usersDb = `t_replicas_${suffix}_users`;
const ordersDb = `t_replicas_${suffix}_orders`;

const SHUTDOWN_GRACE_MS = 3_000;
const REVOCATION_REFRESH_MS = 1_000;
const READINESS_POLL_MS = 100;
const CLIENTS = 4;
/** Bounds of the load, whatever happens: it stops when the restarts are done, or at these. */
const LOAD_MAX_MS = 150_000;
const LOAD_MAX_REQUESTS_PER_CLIENT = 10_000;
const ADMIN_PASSWORD = 'admin-password-1';
const PASSWORD = 'client-password-1';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

type Process = ServiceProcess;

/** One replica as the proxy sees it: where it is now, whether it said it is ready, its counts. */
interface Backend {
  readonly name: string;
  process: Process | undefined;
  ready: boolean;
  /** Requests sent to it that have not been answered yet. */
  inFlight: number;
  /** Requests it answered, since the last (re)start. */
  served: number;
  /** When the test sent it SIGTERM; undefined while it runs. */
  signalledAt: number | undefined;
}

const processes = new Set<Process>();
const cleanups: (() => unknown)[] = [];

afterAll(async () => {
  for (const process of processes) process.child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(
  what: () => string,
  predicate: () => boolean | Promise<boolean>,
  ms = 30_000,
) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await sleep(50);
  }
}

/**
 * The compiled builds, copied once for the whole test, as a rollout restarts every replica from
 * one image: other test runs in this checkout rebuild `dist/` (removing it first), and a replica
 * started meanwhile would find no build, or another one. The copy keeps each file's place
 * relative to the others, since the bundles find the supergraph and their schemas from
 * `import.meta.url`, and their npm packages in the checkout's node_modules.
 */
const app = join(scratch, 'app');
async function snapshotBuilds(): Promise<void> {
  const files = [
    'package.json',
    'supergraph.graphql',
    'examples/web/src/gql/persisted-documents.json',
    ...(['router', 'subgraphs/users', 'subgraphs/orders'] as const).flatMap((workspace) => [
      `${workspace}/package.json`,
      `${workspace}/dist/index.js`,
      `${workspace}/dist/index.js.map`,
    ]),
    'subgraphs/users/schema.graphql',
    'subgraphs/orders/schema.graphql',
  ];
  await waitUntil(
    () => `the builds (${files.filter((file) => !existsSync(join(root, file))).join(', ')})`,
    () => files.every((file) => existsSync(join(root, file))),
    30_000,
  );
  for (const file of files) {
    mkdirSync(dirname(join(app, file)), { recursive: true });
    copyFileSync(join(root, file), join(app, file));
  }
  symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
}

/** The workspace's `start` script, as argv: the command its Dockerfile runs. */
async function startProcess(workspace: Workspace, env: Record<string, string>): Promise<Process> {
  const started = await spawnService(
    workspace,
    {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      APOLLO_TELEMETRY_DISABLED: 'true',
      IDENTITY_SIGNING_SECRET: secret,
      SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
      // What an operator sets behind a load balancer that polls /health/ready (README,
      // SHUTDOWN_DELAY_MS): several of the proxies' 100 ms polls, so that they stop sending to a
      // replica before it stops accepting.
      SHUTDOWN_DELAY_MS: '500',
      ...env,
    },
    { root: app, keepOutput: 20_000 },
  );
  processes.add(started);
  void started.exited.then(() => processes.delete(started));
  return started;
}

/** Hop-by-hop headers (RFC 9110 section 7.6.1): a proxy never forwards them. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())),
  );
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** GET /health/ready of one process: true for a 200 within a second. */
function probeReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = httpRequest(
      { host: '127.0.0.1', port, path: '/health/ready', agent: false, timeout: 1_000 },
      (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      },
    );
    probe.once('timeout', () => probe.destroy());
    probe.once('error', () => resolve(false));
    probe.end();
  });
}

/**
 * A round-robin HTTP proxy over the backends of one tier, as a Kubernetes Service with a
 * readiness probe behaves, plus the one retry every load balancer makes: a connection refused
 * means the request was never sent, so it goes to the next ready replica.
 */
async function roundRobinProxy(tier: string, backends: readonly Backend[]) {
  const stats = {
    requests: 0,
    /** Connections refused, each retried at another replica. */
    refusedRetried: 0,
    /** Requests that failed after they were sent, or found no replica: the client got a 502/503. */
    failed: [] as string[],
    /** Answers with a 5xx status from a replica, passed on as they were. */
    upstream5xx: [] as string[],
    /**
     * The 503s "shutting down" of a replica that had been sent SIGTERM `msAfterSigterm` before:
     * a request that reached it after its drain began, refused without being run.
     */
    drainRefusals: [] as { backend: string; msAfterSigterm: number }[],
  };
  /** Requests whose body contains `match` go to `backend`, whatever its turn: for a test aimed at one replica. */
  let pin: { match: string; backend: Backend } | undefined;
  let turn = 0;

  const poll = setInterval(() => {
    for (const backend of backends) {
      const current = backend.process;
      if (!current) {
        backend.ready = false;
        continue;
      }
      void probeReady(current.port).then((ready) => {
        if (backend.process === current) backend.ready = ready;
      });
    }
  }, READINESS_POLL_MS);

  async function choose(tried: ReadonlySet<Backend>): Promise<Backend | undefined> {
    // A short wait when no replica is ready, as a load balancer queues a request briefly.
    const deadline = Date.now() + 3_000;
    for (;;) {
      const ready = backends.filter((backend) => backend.ready && !tried.has(backend));
      if (ready.length > 0) return ready[turn++ % ready.length];
      if (Date.now() > deadline) return undefined;
      await sleep(20);
    }
  }

  function fail(res: ServerResponse, status: number, why: string) {
    stats.failed.push(why);
    if (res.headersSent) res.destroy();
    else res.writeHead(status, { 'content-type': 'text/plain' }).end(why);
  }

  async function forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    tried: Set<Backend>,
    attempt = 0,
  ) {
    const pinned = pin && body.includes(pin.match) ? pin.backend : undefined;
    const backend = pinned ?? (await choose(tried));
    const port = backend?.process?.port;
    if (!backend || port === undefined) return fail(res, 503, `${tier}: no replica is ready`);
    backend.inFlight += 1;
    let connected = false;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      backend.inFlight -= 1;
    };
    const upstream = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: req.method,
        path: req.url,
        headers: { ...endToEnd(req.headers), 'content-length': String(body.length) },
        agent: false,
      },
      (response) => {
        const status = response.statusCode ?? 502;
        if (status >= 500) {
          const signalledAt = backend.signalledAt;
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.once('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (status === 503 && signalledAt !== undefined && text.includes('shutting down')) {
              stats.drainRefusals.push({
                backend: backend.name,
                msAfterSigterm: Date.now() - signalledAt,
              });
            } else stats.upstream5xx.push(`${backend.name} ${status} ${req.url}: ${text}`);
          });
        }
        res.writeHead(status, endToEnd(response.headers));
        response.pipe(res);
        response.once('end', () => {
          backend.served += 1;
          done();
        });
        response.once('error', (error) => {
          done();
          fail(res, 502, `${tier}: ${backend.name} cut its answer: ${error.message}`);
        });
      },
    );
    upstream.once('socket', (socket) => socket.once('connect', () => (connected = true)));
    upstream.once('error', (error) => {
      done();
      if (settled && res.headersSent) return;
      if (!connected && !pinned && attempt < 3) {
        // Refused: nothing was sent, so another replica may take it. Until the next probe
        // says otherwise, this one is out of the rotation.
        stats.refusedRetried += 1;
        backend.ready = false;
        tried.add(backend);
        if (tried.size >= backends.length) tried.clear();
        return void forward(req, res, body, tried, attempt + 1);
      }
      fail(
        res,
        502,
        `${tier}: ${backend.name} failed after the request was sent: ${error.message}`,
      );
    });
    upstream.end(body);
  }

  const server = createServer((req, res) => {
    stats.requests += 1;
    readBody(req).then(
      (body) => forward(req, res, body, new Set()),
      () => res.destroy(),
    );
  });
  // Longer than any pause of the clients, so that the proxy never closes a connection a client
  // is about to reuse.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  cleanups.push(
    () => clearInterval(poll),
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return {
    stats,
    origin: `http://127.0.0.1:${address.port}`,
    pin(match: string, backend: Backend) {
      pin = { match, backend };
    },
    unpin() {
      pin = undefined;
    },
  };
}

type Proxy = Awaited<ReturnType<typeof roundRobinProxy>>;

interface Tier {
  readonly workspace: Workspace;
  readonly backends: readonly Backend[];
  readonly env: () => Record<string, string>;
  proxy?: Proxy;
}

function tier(workspace: Workspace, name: string, env: () => Record<string, string>): Tier {
  const backends = [0, 1].map((n): Backend => ({
    name: `${name}-${n}`,
    process: undefined,
    ready: false,
    inFlight: 0,
    served: 0,
    signalledAt: undefined,
  }));
  return { workspace, backends, env };
}

async function start(tier: Tier, backend: Backend): Promise<void> {
  backend.served = 0;
  backend.signalledAt = undefined;
  backend.process = await startProcess(tier.workspace, tier.env());
}

/** Ready as the proxy sees it (its own probe said 200), so that it is in the rotation. */
const inRotation = (backend: Backend) =>
  waitUntil(
    () => `${backend.name} to be ready:\n${backend.process?.output ?? ''}`,
    () => backend.ready,
    60_000,
  );

// ---------------------------------------------------------------------------------------------
// Clients

interface GraphQLResponse {
  status: number;
  body: {
    data?: unknown;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

/** The value at a path in parsed JSON. */
function field(value: unknown, path: readonly string[]): unknown {
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = Object.getOwnPropertyDescriptor(value, key)?.value;
  }
  return value;
}

async function request(
  url: string,
  query: string,
  { token, variables }: { token?: string; variables?: Record<string, unknown> } = {},
): Promise<GraphQLResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let body: GraphQLResponse['body'] = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') body = parsed;
  } catch {
    body = { errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] };
  }
  return { status: response.status, body };
}

const codeOf = (response: GraphQLResponse) =>
  String(
    response.body.errors?.[0]?.extensions?.['code'] ?? (response.body.errors ? 'ERROR' : 'OK'),
  );

const LOGIN = `mutation ($u: String!, $p: String!, $d: String) {
  login(username: $u, password: $p, deviceToken: $d) { accessToken refreshToken deviceToken }
}`;
const REFRESH = 'mutation ($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }';
const LOGOUT = 'mutation ($t: String!) { logout(refreshToken: $t) }';
const ME = '{ me { id username } }';
const CREATE_ORDER = `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id item } }`;
const CREATE_USER = 'mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }';

interface Session {
  accessToken: string;
  refreshToken: string;
  deviceToken: string | undefined;
}

function session(
  response: GraphQLResponse,
  root: 'login' | 'refreshToken',
  previous?: Session,
): Session {
  const accessToken = field(response.body.data, [root, 'accessToken']);
  const refreshToken = field(response.body.data, [root, 'refreshToken']);
  const deviceToken = field(response.body.data, [root, 'deviceToken']);
  if (typeof accessToken !== 'string' || typeof refreshToken !== 'string') {
    throw new Error(`${root} gave no tokens: ${response.status} ${JSON.stringify(response.body)}`);
  }
  return {
    accessToken,
    refreshToken,
    deviceToken: typeof deviceToken === 'string' ? deviceToken : previous?.deviceToken,
  };
}

/** What the clients saw, for the assertions and the summary. */
const seen = {
  statuses: new Map<string, number>(),
  /** Anything a client would call a failure: a 5xx, a network error, an unexpected error code. */
  failures: [] as string[],
  /** Refusals to retry (see `refusal`), each retried. */
  refusals: [] as string[],
  /** Acknowledged orders: idempotency key to every id the graph answered for it. */
  orders: new Map<string, Set<string>>(),
  sent: 0,
};

function note(what: string, response: GraphQLResponse) {
  const key = `${what} HTTP ${response.status} ${codeOf(response)}`;
  seen.statuses.set(key, (seen.statuses.get(key) ?? 0) + 1);
}

/**
 * A refusal a client is told to retry, and retries: SERVICE_UNAVAILABLE with `retryAfterSeconds`
 * (the router's answer when a subgraph refused), or a router's own 503 while it drains.
 */
function refusal(response: GraphQLResponse): boolean {
  const error = response.body.errors?.[0];
  if (error?.extensions?.['code'] !== 'SERVICE_UNAVAILABLE') return false;
  return response.status === 200
    ? typeof error.extensions['retryAfterSeconds'] === 'number'
    : response.status === 503 && error.message.includes('shutting down');
}

/**
 * Sends one operation as a careful client does: a refusal to retry is retried (the same
 * request: the same idempotency key for an order), a few times; anything else is the answer.
 * A 5xx or a network error is a failure.
 */
async function send(
  what: string,
  url: string,
  query: string,
  options: { token?: string; variables?: Record<string, unknown> },
): Promise<GraphQLResponse | undefined> {
  for (let attempt = 0; attempt < 4; attempt += 1) {
    seen.sent += 1;
    let response: GraphQLResponse;
    try {
      response = await request(url, query, options);
    } catch (error) {
      const cause = field(error, ['cause', 'code']) ?? field(error, ['cause', 'message']);
      seen.failures.push(`${what}: ${String(error)} ${String(cause ?? '')}`);
      return undefined;
    }
    note(what, response);
    if (refusal(response)) {
      seen.refusals.push(`${what}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
      await sleep(200);
      continue;
    }
    if (response.status >= 500) {
      seen.failures.push(`${what}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response;
  }
  seen.failures.push(`${what}: refused four times`);
  return undefined;
}

/**
 * One client: its own user, one session that it refreshes, logs in again now and then with its
 * device token, reads `me`, and places orders with an idempotency key, sending a key again
 * after a SERVICE_UNAVAILABLE (as the example app does) and now and then on purpose.
 */
async function client(
  n: number,
  url: string,
  username: string,
  first: Session,
  stop: { stopped: boolean; until: number },
) {
  let current = first;
  let lastOrder: { input: { item: string; address: string; idempotencyKey: string } } | undefined;
  const ok = (
    what: string,
    response: GraphQLResponse | undefined,
    check: (body: GraphQLResponse['body']) => boolean,
  ) => {
    if (!response) return false;
    if (response.status === 200 && !response.body.errors && check(response.body)) return true;
    if (response.status < 500) {
      seen.failures.push(`${what}: ${response.status} ${JSON.stringify(response.body)}`);
    }
    return false;
  };

  const placeOrder = async (input: { item: string; address: string; idempotencyKey: string }) => {
    const response = await send('createOrder', url, CREATE_ORDER, {
      token: current.accessToken,
      variables: { input },
    });
    const placed = (body: GraphQLResponse['body']) =>
      field(body.data, ['createOrder', 'item']) === input.item;
    if (!ok('createOrder', response, placed)) return;
    const id = String(field(response?.body.data, ['createOrder', 'id']));
    const ids = seen.orders.get(input.idempotencyKey) ?? new Set();
    seen.orders.set(input.idempotencyKey, ids.add(id));
  };

  for (
    let step = 0;
    !stop.stopped && Date.now() < stop.until && step < LOAD_MAX_REQUESTS_PER_CLIENT;
    step += 1
  ) {
    switch (step % 8) {
      case 0:
      case 3:
      case 6: {
        const response = await send('me', url, ME, { token: current.accessToken });
        ok('me', response, (body) => field(body.data, ['me', 'username']) === username);
        break;
      }
      case 1:
      case 4: {
        lastOrder = {
          input: {
            item: `replicas ${suffix} client ${n} step ${step}`,
            address: '1 Rolling Rd',
            idempotencyKey: randomUUID(),
          },
        };
        await placeOrder(lastOrder.input);
        break;
      }
      case 2:
        // The same key and input again: a client that got no answer would do this.
        if (lastOrder) await placeOrder(lastOrder.input);
        break;
      case 5: {
        const response = await send('refreshToken', url, REFRESH, {
          variables: { t: current.refreshToken },
        });
        if (
          ok(
            'refreshToken',
            response,
            (body) => typeof field(body.data, ['refreshToken', 'accessToken']) === 'string',
          ) &&
          response
        ) {
          current = session(response, 'refreshToken', current);
        }
        break;
      }
      case 7: {
        // Not every round: the login mix stays a fraction of the load.
        if (step % 24 !== 7) break;
        const response = await send('login', url, LOGIN, {
          variables: { u: username, p: PASSWORD, d: current.deviceToken },
        });
        if (
          ok(
            'login',
            response,
            (body) => typeof field(body.data, ['login', 'accessToken']) === 'string',
          ) &&
          response
        ) {
          current = session(response, 'login', current);
        }
        break;
      }
    }
    // A bounded load: a few clients at a human-ish pace, not a flood (see login-flood.load.test.ts).
    await sleep(10);
  }
  return current;
}

// ---------------------------------------------------------------------------------------------

describe('replicas', () => {
  it('survive a rolling restart of every tier under load, and share logins, throttling and revocation', async () => {
    const startedAt = Date.now();
    await snapshotBuilds();
    const mongodbUri = inject('mongodbUri');
    const mongo = new MongoClient(mongodbUri, { serverSelectionTimeoutMS: 5_000 });
    cleanups.push(async () => {
      await mongo
        .db(usersDb)
        .dropDatabase()
        .catch(() => {});
      await mongo
        .db(ordersDb)
        .dropDatabase()
        .catch(() => {});
      await mongo.close();
    });

    let usersOrigin = '';
    let ordersOrigin = '';
    const users = tier('subgraphs/users', 'users', () => ({
      MONGODB_URI: mongodbUri,
      USERS_DB: usersDb,
      JWT_PRIVATE_KEY: privateKey,
      SEED_ADMIN_PASSWORD: ADMIN_PASSWORD,
      DATA_DIR: join(scratch, 'data'),
      // Long enough to outlast the rolling restart, so that a lock set before it is checked on
      // the restarted replicas.
      LOGIN_LOCKOUT_SECONDS: '300',
      // Every client here comes from 127.0.0.1; the per-address cap on successful logins (100)
      // would otherwise end the test's own logins, not anything under test.
      LOGIN_MAX_PER_IP: '100000',
    }));
    const orders = tier('subgraphs/orders', 'orders', () => ({
      MONGODB_URI: mongodbUri,
      ORDERS_DB: ordersDb,
    }));
    const routers = tier('router', 'router', () => ({
      USERS_URL: `${usersOrigin}/graphql`,
      ORDERS_URL: `${ordersOrigin}/graphql`,
      JWKS_URL: `${usersOrigin}/.well-known/jwks.json`,
      REVOCATIONS_URL: `${usersOrigin}/revocations`,
      REVOCATION_REFRESH_MS: String(REVOCATION_REFRESH_MS),
      PERSISTED_DOCUMENTS_MODE: 'allow',
    }));
    const tiers = [users, orders, routers];
    for (const each of tiers) each.proxy = await roundRobinProxy(each.workspace, each.backends);
    usersOrigin = users.proxy?.origin ?? '';
    ordersOrigin = orders.proxy?.origin ?? '';
    const routerUrl = `${routers.proxy?.origin ?? ''}/graphql`;

    // Both replicas of a tier start at once, as a Deployment's pods do (the users replicas
    // seed the admin side by side).
    for (const each of tiers) {
      await Promise.all(each.backends.map((backend) => start(each, backend)));
      await Promise.all(each.backends.map(inRotation));
    }
    const setUpAt = Date.now();

    // The admin creates a user per client and one to lock out.
    const admin = session(
      await request(routerUrl, LOGIN, { variables: { u: 'admin', p: ADMIN_PASSWORD } }),
      'login',
    );
    const usernames = Array.from({ length: CLIENTS }, (_, n) => `load-${n}-${suffix}`);
    const victim = `victim-${suffix}`;
    const revoked = `revoked-${suffix}`;
    for (const username of [...usernames, victim, revoked]) {
      const created = await request(routerUrl, CREATE_USER, {
        token: admin.accessToken,
        variables: { i: { username, password: PASSWORD } },
      });
      expect(created.body.errors, JSON.stringify(created.body)).toBeUndefined();
    }
    const sessions = await Promise.all(
      usernames.map(async (u) =>
        session(await request(routerUrl, LOGIN, { variables: { u, p: PASSWORD } }), 'login'),
      ),
    );

    // Throttling, before the restart: five wrong passwords at one username from an unknown
    // device, alternately at each users replica, lock it at both, even for the right password.
    const usersProxy = users.proxy;
    if (!usersProxy) throw new Error('no users proxy');
    const loginVictim = async (password: string, backend: Backend) => {
      usersProxy.pin(`"${victim}"`, backend);
      try {
        return await request(routerUrl, LOGIN, { variables: { u: victim, p: password } });
      } finally {
        usersProxy.unpin();
      }
    };
    const expectLocked = async (when: string) => {
      for (const backend of users.backends) {
        const locked = await loginVictim(PASSWORD, backend);
        expect(codeOf(locked), `${when}, at ${backend.name}: ${JSON.stringify(locked.body)}`).toBe(
          'LOGIN_THROTTLED',
        );
        expect(field(locked.body.errors?.[0], ['extensions', 'retryAfterSeconds'])).toBeGreaterThan(
          0,
        );
      }
    };
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const backend = users.backends[attempt % users.backends.length];
      if (!backend) throw new Error('no users replica');
      const wrong = await loginVictim('wrong password', backend);
      expect(codeOf(wrong), JSON.stringify(wrong.body)).toBe('UNAUTHENTICATED');
    }
    await expectLocked('right after five wrong passwords');

    // A session that the revocation check ends after the restart.
    const toRevoke = session(
      await request(routerUrl, LOGIN, { variables: { u: revoked, p: PASSWORD } }),
      'login',
    );

    // The load, and meanwhile the rolling restart: one replica at a time, each tier in turn.
    const stop = { stopped: false, until: Date.now() + LOAD_MAX_MS };
    const load = Promise.all(
      usernames.map((username, n) => {
        const first = sessions[n];
        if (!first) throw new Error('no session');
        return client(n, routerUrl, username, first, stop);
      }),
    );
    const restarts: {
      name: string;
      inFlightAtSigterm: number;
      exit: Exit;
      drainMs: number;
      readyMs: number;
    }[] = [];
    try {
      await sleep(1_000);
      for (const each of tiers) {
        for (const backend of each.backends) {
          const old = backend.process;
          if (!old) throw new Error(`${backend.name} is not running`);
          // SIGTERM while it is answering someone, so that every restart tests the drain; the
          // load keeps each replica busy most of the time, so this waits little.
          const busyBy = Date.now() + 5_000;
          while (backend.inFlight === 0 && Date.now() < busyBy) await sleep(5);
          const inFlightAtSigterm = backend.inFlight;
          const signalledAt = Date.now();
          backend.signalledAt = signalledAt;
          old.child.kill('SIGTERM');
          const exit = await Promise.race([
            old.exited,
            sleep(SHUTDOWN_GRACE_MS + 10_000).then(() => {
              throw new Error(`${backend.name} did not exit:\n${old.output}`);
            }),
          ]);
          expect(exit, `${backend.name}:\n${old.output}`).toMatchObject({ code: 0, signal: null });
          expect(old.output, backend.name).toContain('"message":"stopped"');
          const restartedAt = Date.now();
          await start(each, backend);
          await inRotation(backend);
          // It takes its share again before the next one goes.
          await waitUntil(
            () => `${backend.name} to serve requests`,
            () => backend.served >= 3,
            10_000,
          );
          restarts.push({
            name: backend.name,
            inFlightAtSigterm,
            exit,
            drainMs: exit.at - signalledAt,
            readyMs: Date.now() - restartedAt,
          });
        }
      }
      await sleep(1_000);
    } finally {
      stop.stopped = true;
    }
    const finalSessions = await load;
    const loadMs = Date.now() - setUpAt;

    // Throttling after the restart: the lock is in the database, so the new replicas keep it.
    await expectLocked('after every users replica was restarted');

    // Revocation: a logout through one router is refused at the other within
    // REVOCATION_REFRESH_MS. Both routers are asked directly, not through their proxy.
    const [routerA, routerB] = routers.backends.map(
      (backend) => `http://127.0.0.1:${backend.process?.port ?? 0}/graphql`,
    );
    if (!routerA || !routerB) throw new Error('no routers');
    const before = await request(routerB, ME, { token: toRevoke.accessToken });
    expect(field(before.body.data, ['me', 'username']), JSON.stringify(before.body)).toBe(revoked);
    const logout = await request(routerA, LOGOUT, { variables: { t: toRevoke.refreshToken } });
    expect(logout.body, JSON.stringify(logout.body)).toEqual({ data: { logout: true } });
    const loggedOutAt = Date.now();
    let refusedAfterMs: number | undefined;
    for (
      let poll = 0;
      poll < 60 && Date.now() - loggedOutAt < REVOCATION_REFRESH_MS + 3_000;
      poll += 1
    ) {
      const after = await request(routerB, ME, { token: toRevoke.accessToken });
      if (after.status === 401) {
        expect(field(after.body.errors?.[0], ['extensions', 'reason'])).toBe('revoked');
        refusedAfterMs = Date.now() - loggedOutAt;
        break;
      }
      expect(after.status, JSON.stringify(after.body)).toBe(200);
      await sleep(100);
    }
    expect(refusedAfterMs, 'the other router never refused the logged-out token').toBeDefined();
    // Within REVOCATION_REFRESH_MS, with room for one round trip of the fetch that refreshes it.
    expect(refusedAfterMs ?? Infinity).toBeLessThanOrEqual(REVOCATION_REFRESH_MS + 500);
    const refreshAfterLogout = await request(routerB, REFRESH, {
      variables: { t: toRevoke.refreshToken },
    });
    expect(codeOf(refreshAfterLogout)).toBe('UNAUTHENTICATED');

    // Every client's session is still good: the last refresh token of each works once more.
    for (const last of finalSessions) {
      const refreshed = await request(routerUrl, REFRESH, { variables: { t: last.refreshToken } });
      expect(refreshed.body.errors, JSON.stringify(refreshed.body)).toBeUndefined();
    }

    // No acknowledged order is lost, none is there twice, and a key is one order.
    const stored = await mongo
      .db(ordersDb)
      .collection('orders')
      .find({ item: { $regex: `^replicas ${suffix} ` } }, { projection: { _id: 1, item: 1 } })
      .toArray();
    const storedIds = stored.map((order) => String(order._id));
    const acknowledged = [...seen.orders.values()];
    const summary = {
      durationMs: Date.now() - startedAt,
      setUpMs: setUpAt - startedAt,
      loadMs,
      sent: seen.sent,
      statuses: Object.fromEntries([...seen.statuses].sort()),
      ordersAcknowledged: acknowledged.length,
      ordersStored: stored.length,
      restarts: restarts.map(({ name, inFlightAtSigterm, drainMs, readyMs }) => ({
        name,
        inFlightAtSigterm,
        drainMs,
        readyMs,
      })),
      proxies: Object.fromEntries(
        tiers.map((each) => [
          each.workspace,
          {
            requests: each.proxy?.stats.requests,
            refusedRetried: each.proxy?.stats.refusedRetried,
            failed: each.proxy?.stats.failed.length,
            upstream5xx: each.proxy?.stats.upstream5xx.length,
          },
        ]),
      ),
      revokedAtOtherRouterAfterMs: refusedAfterMs,
      refusals: seen.refusals.slice(0, 5),
      drainRefusals: tiers.flatMap((each) => each.proxy?.stats.drainRefusals ?? []),
      failures: seen.failures.slice(0, 10),
      proxyFailures: tiers
        .flatMap((each) => [
          ...(each.proxy?.stats.failed ?? []),
          ...(each.proxy?.stats.upstream5xx ?? []),
        ])
        .slice(0, 10),
    };
    // What a run did, for whoever reads the log of a load test: the counts behind the verdict.
    process.stderr.write(`replicas: ${JSON.stringify(summary)}\n`);

    expect(restarts).toHaveLength(6);
    expect(seen.failures, JSON.stringify(summary)).toEqual([]);
    expect(summary.proxyFailures, JSON.stringify(summary)).toEqual([]);
    // Not even a refusal to retry: a replica that drains sends none back, since a load balancer
    // that polls readiness stops sending to it before it stops accepting. A 503 "shutting down"
    // or a reset here means a request reached a replica that had stopped serving.
    expect(summary.drainRefusals, JSON.stringify(summary)).toEqual([]);
    expect(seen.refusals, JSON.stringify(summary)).toEqual([]);
    for (const ids of acknowledged) expect(ids.size).toBe(1);
    expect(new Set(storedIds).size).toBe(storedIds.length);
    expect(storedIds.sort()).toEqual(acknowledged.map((ids) => [...ids][0]).sort());
    // The load was real: orders were placed, and requests were in flight when replicas went.
    expect(acknowledged.length).toBeGreaterThan(20);
    for (const restart of restarts)
      expect(restart.inFlightAtSigterm, restart.name).toBeGreaterThan(0);
  }, 240_000);
});
