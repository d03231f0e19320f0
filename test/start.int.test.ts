import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@supergraph/dev-mongo';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';

/**
 * `npm start`, as a newcomer runs it: the three services from their workspace start scripts,
 * the router's URL printed, login working, and everything stopped on SIGTERM. It uses the test
 * MongoDB through MONGODB_URI, with databases of its own, and free ports instead of 4000-4002.
 */
const root = new URL('..', import.meta.url).pathname;
let child: ChildProcess;
let output = '';
let ports: { router: number; users: number; orders: number };
let metricsPorts: { router: number; users: number; orders: number };
let dataDir: string;

async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; output so far:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  ports = { router: await freePort(), users: await freePort(), orders: await freePort() };
  metricsPorts = { router: await freePort(), users: await freePort(), orders: await freePort() };
  dataDir = mkdtempSync(join(tmpdir(), 'supergraph-start-'));
  const suffix = randomBytes(3).toString('hex');
  child = spawn('npm', ['start'], {
    cwd: root,
    detached: true,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      MONGODB_URI: inject('mongodbUri'),
      USERS_DB: `t_start_${suffix}_users`,
      ORDERS_DB: `t_start_${suffix}_orders`,
      DATA_DIR: dataDir,
      ROUTER_PORT: String(ports.router),
      USERS_PORT: String(ports.users),
      ORDERS_PORT: String(ports.orders),
      ROUTER_METRICS_PORT: String(metricsPorts.router),
      USERS_METRICS_PORT: String(metricsPorts.users),
      ORDERS_METRICS_PORT: String(metricsPorts.orders),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(() => output.includes('The graph is up'), 60_000, 'npm start');
}, 90_000);

afterAll(() => {
  // Whatever the test did, leave nothing running.
  if (child?.pid) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is already gone, as it should be
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('prints the router URL', () => {
    expect(output).toContain(`The graph is up: http://localhost:${ports.router}/graphql`);
  });

  it('serves a graph where the seeded user can log in and read themself', async () => {
    const url = `http://127.0.0.1:${ports.router}/graphql`;
    const post = async (query: string, token?: string) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query }),
      });
      return (await response.json()) as {
        data?: Record<string, { accessToken?: string; username?: string }>;
      };
    };
    const login = await post('mutation { login(username: "user", password: "u") { accessToken } }');
    const token = login.data?.['login']?.accessToken;
    expect(token).toMatch(/^ey/);
    expect(await post('{ me { username } }', token)).toEqual({
      data: { me: { username: 'user' } },
    });
  });

  it('serves Apollo Sandbox to a browser in development', async () => {
    const response = await fetch(`http://127.0.0.1:${ports.router}/graphql`, {
      headers: { accept: 'text/html' },
    });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('embeddable-sandbox');
    expect(html).toContain('login(username');
  });

  it("serves each service's metrics on the METRICS_PORT it sets, and not on the GraphQL ports", async () => {
    const expected = {
      router: 'supergraph_router_requests_total',
      users: 'supergraph_users_logins_total',
      orders: 'supergraph_mongodb_pool_connections',
    };
    for (const service of ['router', 'users', 'orders'] as const) {
      const metrics = await fetch(`http://127.0.0.1:${metricsPorts[service]}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toContain(`# TYPE ${expected[service]} `);
      expect(text).toContain('process_cpu_user_seconds_total');
      const graphqlPort = await fetch(`http://127.0.0.1:${ports[service]}/metrics`);
      expect(graphqlPort.status).toBe(404);
      expect(await graphqlPort.text()).not.toContain('supergraph_');
    }
  });

  it('stops every service on Ctrl-C', async () => {
    // What a terminal does on Ctrl-C: SIGINT to the whole foreground process group.
    if (child.pid) process.kill(-child.pid, 'SIGINT');
    await waitFor(
      () => child.exitCode !== null || child.signalCode !== null,
      20_000,
      'npm start to exit',
    );
    const answering = async () => {
      const up = await Promise.all(
        Object.values(ports).map((port) =>
          fetch(`http://127.0.0.1:${port}/health`).then(
            () => true,
            () => false,
          ),
        ),
      );
      return up.some(Boolean);
    };
    const deadline = Date.now() + 15_000;
    while ((await answering()) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await answering()).toBe(false);
  });
});
