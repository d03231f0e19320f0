import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ferretDbArguments, freePort } from '@supergraph/dev-mongo';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnService, type ServiceProcess, type Workspace } from './services.js';

/**
 * Shutdown and readiness as an orchestrator sees them: each service runs as the process its
 * Dockerfile starts, with NODE_ENV=production, on a FerretDB of this file's own (so that pausing
 * it stalls no other test file). What is asserted is what clients get.
 */
const scratch = mkdtempSync(join(tmpdir(), 'supergraph-shutdown-'));
const secret = randomBytes(32).toString('hex');
const privateKey = generateKeyPairSync('ed25519')
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

let ferret: ChildProcess;
let mongoPort: number;
const started: Service[] = [];

type Service = ServiceProcess;

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

function startFerretDb(port: number): ChildProcess {
  return spawn('ferretdb', ferretDbArguments(join(scratch, `ferretdb-${port}`), port), {
    stdio: 'ignore',
  });
}

async function startService(workspace: Workspace, env: Record<string, string>): Promise<Service> {
  const service = await spawnService(workspace, {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    IDENTITY_SIGNING_SECRET: secret,
    ...env,
  });
  started.push(service);
  return service;
}

async function health(service: Service, path: '/health/live' | '/health/ready') {
  try {
    const response = await fetch(`http://127.0.0.1:${service.port}${path}`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  } catch {
    return { status: 0, body: {} };
  }
}

async function waitUntil(what: string, predicate: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ready = (service: Service) =>
  waitUntil(
    `${service.url} to be ready:\n${service.output}`,
    async () => (await health(service, '/health/ready')).status === 200,
  );

async function graphql(url: string, query: string, token?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query }),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      data?: Record<string, Record<string, unknown> | null> | null;
      errors?: { message: string; extensions?: { code?: string } }[];
    },
  };
}

/**
 * An HTTP proxy that holds every request until `release()`: a slow subgraph, seen from the
 * router.
 */
function holdingProxy(target: () => number) {
  let held: (() => void)[] = [];
  let holding = false;
  const server: Server = createServer((req, res) => {
    const forward = () => {
      const upstream = httpRequest(
        {
          host: '127.0.0.1',
          port: target(),
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (holding) held.push(forward);
    else forward();
  });
  return {
    server,
    hold: () => (holding = true),
    get heldCount() {
      return held.length;
    },
    release: () => {
      holding = false;
      const waiting = held;
      held = [];
      for (const forward of waiting) forward();
    },
  };
}

beforeAll(async () => {
  mongoPort = await freePort();
  ferret = startFerretDb(mongoPort);
  await waitUntil('FerretDB', () => tcpOpen(mongoPort));
});

afterEach(() => {
  for (const service of started.splice(0)) service.child.kill('SIGKILL');
  ferret.kill('SIGCONT');
});

afterAll(() => {
  ferret?.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

const suffix = randomBytes(3).toString('hex');
const mongoUri = () => `mongodb://127.0.0.1:${mongoPort}/`;

/** Users, orders (behind a proxy that can hold its requests) and the router, all ready. */
/**
 * The login mutation for "user", with the device token of its last login here: the tests log
 * in again and again, as one device would, and must not lock the username out (README, login
 * throttling).
 */
let deviceToken: string | undefined;
const loginAsUser = (selection: string) =>
  `mutation { login(username: "user", password: "secret-password"${
    deviceToken ? `, deviceToken: ${JSON.stringify(deviceToken)}` : ''
  }) { ${selection} } }`;

async function startGraph() {
  const users = await startService('subgraphs/users', {
    MONGODB_URI: mongoUri(),
    USERS_DB: `t_shutdown_${suffix}_users`,
    JWT_PRIVATE_KEY: privateKey,
    SEED_USER_PASSWORD: 'secret-password',
    DATA_DIR: join(scratch, 'data'),
  });
  const orders = await startService('subgraphs/orders', {
    MONGODB_URI: mongoUri(),
    ORDERS_DB: `t_shutdown_${suffix}_orders`,
  });
  const proxy = holdingProxy(() => orders.port);
  const proxyPort = await freePort();
  await new Promise<void>((resolve) => proxy.server.listen(proxyPort, '127.0.0.1', resolve));
  const router = await startService('router', {
    USERS_URL: users.url,
    ORDERS_URL: `http://127.0.0.1:${proxyPort}/graphql`,
    JWKS_URL: `http://127.0.0.1:${users.port}/.well-known/jwks.json`,
    PERSISTED_DOCUMENTS_MODE: 'allow',
  });
  await Promise.all([ready(users), ready(orders), ready(router)]);
  const login = await graphql(router.url, loginAsUser('accessToken deviceToken'));
  const token = String(login.body.data?.['login']?.['accessToken']);
  deviceToken = String(login.body.data?.['login']?.['deviceToken']);
  return { users, orders, router, proxy, token };
}

const createOrder = (n: number) =>
  `mutation { createOrder(input: { item: "drain ${n}", address: "1 Main St" }) { id item } }`;

describe('SIGTERM drains', () => {
  it('the router: requests in flight at a slow subgraph get their real answers, and it exits 0', async () => {
    const { router, proxy, token } = await startGraph();
    proxy.hold();
    const inFlight = [0, 1, 2, 3, 4].map((n) => graphql(router.url, createOrder(n), token));
    await waitUntil('the orders requests to be held', async () => proxy.heldCount === 5);

    const signalledAt = Date.now();
    router.child.kill('SIGTERM');
    // Readiness turns false at once (the listener is closed, so a probe cannot connect either).
    await waitUntil('readiness to turn false', async () => {
      return (await health(router, '/health/ready')).status !== 200;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    proxy.release();

    const answers = await Promise.all(inFlight);
    for (const [n, answer] of answers.entries()) {
      expect(answer.status).toBe(200);
      expect(answer.body.data?.['createOrder']?.['item']).toBe(`drain ${n}`);
    }
    const exit = await router.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(10_000);
    proxy.server.close();
  }, 60_000);

  it.each(['orders', 'users'] as const)(
    '%s: requests waiting on a paused database finish when it resumes, and it exits 0',
    async (name) => {
      const graph = await startGraph();
      const service = graph[name];
      const operation =
        name === 'orders'
          ? (n: number) => graphql(graph.router.url, createOrder(n), graph.token)
          : () => graphql(graph.router.url, loginAsUser('user { username }'));
      ferret.kill('SIGSTOP');
      const inFlight = [0, 1, 2].map((n) => operation(n));
      await new Promise((resolve) => setTimeout(resolve, 400));
      const signalledAt = Date.now();
      service.child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 400));
      ferret.kill('SIGCONT');

      for (const [n, answer] of (await Promise.all(inFlight)).entries()) {
        expect(answer.body.errors, JSON.stringify(answer.body)).toBeUndefined();
        if (name === 'orders')
          expect(answer.body.data?.['createOrder']?.['item']).toBe(`drain ${n}`);
        else expect(answer.body.data?.['login']?.['user']).toEqual({ username: 'user' });
      }
      const exit = await service.exited;
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.at - signalledAt).toBeLessThan(10_000);
      expect(service.output).toContain('"message":"stopped"');
      graph.proxy.server.close();
    },
    60_000,
  );
});

describe('readiness and outages', () => {
  it('a subgraph started before its database waits, not ready, and becomes ready when it appears', async () => {
    const laterPort = await freePort();
    const orders = await startService('subgraphs/orders', {
      MONGODB_URI: `mongodb://127.0.0.1:${laterPort}/`,
      ORDERS_DB: `t_shutdown_${suffix}_late`,
    });
    await waitUntil('liveness', async () => (await health(orders, '/health/live')).status === 200);
    const notReady = await health(orders, '/health/ready');
    expect(notReady.status).toBe(503);
    // A request meanwhile is told to come back, not failed or hung.
    const early = await fetch(orders.url, { method: 'POST', body: '{}' });
    expect(early.status).toBe(503);
    expect(await early.json()).toMatchObject({
      errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }],
    });

    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(orders.child.exitCode).toBeNull();
    expect(orders.output).toContain('connecting to MongoDB failed; retrying');

    const late = startFerretDb(laterPort);
    try {
      await ready(orders);
    } finally {
      late.kill('SIGKILL');
    }
  }, 60_000);

  it('readiness follows the database, and requests during an outage get SERVICE_UNAVAILABLE in time', async () => {
    const graph = await startGraph();
    ferret.kill('SIGSTOP');
    try {
      await waitUntil(
        'orders to report not ready',
        async () => (await health(graph.orders, '/health/ready')).status === 503,
        10_000,
      );
      expect((await health(graph.orders, '/health/ready')).body).toMatchObject({
        checks: { mongodb: expect.stringMatching(/MongoDB does not answer/) },
      });
      expect((await health(graph.orders, '/health/live')).status).toBe(200);

      const startedAt = Date.now();
      const answer = await graphql(
        graph.router.url,
        '{ me { orders(first: 1) { edges { node { id } } } } }',
        graph.token,
      );
      // Under the router's SUBGRAPH_TIMEOUT_MS (5 s): the subgraph's own answer, not a timeout.
      expect(Date.now() - startedAt).toBeLessThan(5_000);
      expect(answer.body.errors?.map((error) => error.extensions?.code)).toContain(
        'SERVICE_UNAVAILABLE',
      );
      expect(JSON.stringify(answer.body)).not.toContain('INTERNAL_SERVER_ERROR');
    } finally {
      ferret.kill('SIGCONT');
    }
    await ready(graph.orders);
    graph.proxy.server.close();
  }, 60_000);
});
