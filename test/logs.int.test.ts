import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';
import { spawnService, type ServiceProcess } from './services.js';

/**
 * The logs as an operator reads them: each service runs as the process production runs, at
 * LOG_LEVEL=debug, and what it writes to stdout and stderr is read back line by line. One id
 * finds every line of one request in every service; no secret is in any line; a client's
 * mistake is not an error and an outage is.
 */
const scratch = mkdtempSync(join(tmpdir(), 'supergraph-logs-'));
const suffix = randomBytes(3).toString('hex');
const identitySecret = randomBytes(32).toString('hex');
const privateKey = generateKeyPairSync('ed25519')
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const userPassword = `pw-${randomBytes(8).toString('hex')}`;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

type Name = 'router' | 'users' | 'orders';
type Service = ServiceProcess & { readonly name: Name };
type Line = Record<string, unknown> & { service: string; level: string; message: string };

const services: Service[] = [];

async function startService(name: Name, env: Record<string, string>): Promise<Service> {
  const spawned = await spawnService(name === 'router' ? 'router' : `subgraphs/${name}`, {
    NODE_ENV: 'production',
    LOG_LEVEL: 'debug',
    HOST: '127.0.0.1',
    IDENTITY_SIGNING_SECRET: identitySecret,
    ...env,
  });
  const service: Service = Object.assign(spawned, { name });
  services.push(service);
  return service;
}

async function ready(service: Service): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${service.port}/health/ready`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    if (service.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`${service.name} not ready:\n${service.output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every line of every service so far; each must be one JSON object. */
function lines(): Line[] {
  return services.flatMap((service) =>
    service.output
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        expect(() => JSON.parse(line), `${service.name}: ${line}`).not.toThrow();
        return JSON.parse(line) as Line;
      }),
  );
}

const linesOf = (requestId: string) => lines().filter((line) => line['requestId'] === requestId);

async function graphql(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as {
    data?: Record<string, Record<string, unknown> | null> | null;
    errors?: { extensions?: { code?: string } }[];
  };
  return { status: response.status, requestId: response.headers.get('x-request-id') ?? '', body };
}

let router: Service;
let orders: Service;

beforeAll(async () => {
  const mongodbUri = inject('mongodbUri');
  const users = await startService('users', {
    MONGODB_URI: mongodbUri,
    USERS_DB: `t_logs_${suffix}_users`,
    JWT_PRIVATE_KEY: privateKey,
    SEED_USER_PASSWORD: userPassword,
    SEED_ADMIN_PASSWORD: `admin-${userPassword}`,
    DATA_DIR: join(scratch, 'data'),
  });
  orders = await startService('orders', {
    MONGODB_URI: mongodbUri,
    ORDERS_DB: `t_logs_${suffix}_orders`,
  });
  router = await startService('router', {
    USERS_URL: users.url,
    ORDERS_URL: orders.url,
    JWKS_URL: `http://127.0.0.1:${users.port}/.well-known/jwks.json`,
    PERSISTED_DOCUMENTS_MODE: 'allow',
  });
  await Promise.all(services.map(ready));
}, 60_000);

afterAll(async () => {
  for (const service of services) service.child.kill('SIGTERM');
  await Promise.all(services.map((service) => service.exited));
  rmSync(scratch, { recursive: true, force: true });
});

const LOGIN =
  'mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken deviceToken } }';
const REFRESH =
  'mutation Refresh($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }';
const MY_ORDERS = 'query MyOrders { me { username orders(first: 5) { edges { node { id } } } } }';

describe('the logs of the graph, at LOG_LEVEL=debug', () => {
  it('follow one request through every service, keep every secret out, and mean their levels', async () => {
    const secrets: string[] = [identitySecret, userPassword, privateKey.trim()];

    const login = await graphql(router.url, LOGIN, { u: 'user', p: userPassword });
    const loggedIn = login.body.data?.['login'];
    expect(loggedIn?.['accessToken'], JSON.stringify(login.body)).toEqual(expect.any(String));
    secrets.push(
      String(loggedIn?.['accessToken']),
      String(loggedIn?.['refreshToken']),
      String(loggedIn?.['deviceToken']),
    );

    const refresh = await graphql(router.url, REFRESH, { t: loggedIn?.['refreshToken'] });
    const refreshed = refresh.body.data?.['refreshToken'];
    expect(refreshed?.['accessToken'], JSON.stringify(refresh.body)).toEqual(expect.any(String));
    const token = String(refreshed?.['accessToken']);
    secrets.push(token, String(refreshed?.['refreshToken']));

    // The client's own id is not trusted by default: the router makes one and says which.
    const mine = await graphql(
      router.url,
      MY_ORDERS,
      {},
      { authorization: `Bearer ${token}`, 'x-request-id': 'chosen-by-the-client' },
    );
    expect(mine.body.errors).toBeUndefined();
    expect(mine.requestId).toMatch(REQUEST_ID);
    expect(mine.requestId).not.toBe('chosen-by-the-client');

    // A client's mistakes: a wrong password, a refused token, a bad input.
    const wrongPassword = await graphql(router.url, LOGIN, { u: 'user', p: `${userPassword}x` });
    expect(wrongPassword.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const refusedToken = await graphql(
      router.url,
      MY_ORDERS,
      {},
      {
        authorization: `Bearer ${token.slice(0, -4)}AAAA`,
      },
    );
    expect(refusedToken.status).toBe(401);
    const badInput = await graphql(
      router.url,
      'mutation BadOrder { createOrder(input: { item: "", address: "" }) { id } }',
      {},
      { authorization: `Bearer ${token}` },
    );
    expect(badInput.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const invalid = await graphql(router.url, '{ me { noSuchField } }');
    expect(invalid.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const badVariable = await graphql(router.url, LOGIN, { u: 'user', p: 42 });
    expect(badVariable.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    // An outage: the orders subgraph is gone.
    orders.child.kill('SIGTERM');
    await orders.exited;
    const down = await graphql(router.url, MY_ORDERS, {}, { authorization: `Bearer ${token}` });
    expect(down.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    // The access log line is written when the response has gone out.
    await new Promise((resolve) => setTimeout(resolve, 200));

    // One id, every service: the access line of each, and the router's says who asked.
    const followed = linesOf(mine.requestId);
    const access = followed.filter((line) => line.message === 'request');
    expect(access.map((line) => line.service).sort()).toEqual(['orders', 'router', 'users']);
    expect(access.find((line) => line.service === 'router')).toMatchObject({
      level: 'info',
      method: 'POST',
      path: '/graphql',
      status: 200,
      operationName: 'MyOrders',
      userId: expect.any(String),
      durationMs: expect.any(Number),
    });
    expect(lines().some((line) => line['requestId'] === 'chosen-by-the-client')).toBe(false);

    for (const { requestId } of [wrongPassword, refusedToken, badInput, invalid, badVariable]) {
      expect(requestId).toMatch(REQUEST_ID);
      const logged = linesOf(requestId);
      expect(logged.some((line) => line.message === 'request')).toBe(true);
      expect(logged.filter((line) => line.level === 'error')).toEqual([]);
    }
    expect(linesOf(down.requestId)).toContainEqual(
      expect.objectContaining({
        service: 'router',
        level: 'error',
        message: 'subgraph request failed',
        subgraph: 'orders',
      }),
    );

    const output = services.map((service) => service.output).join('\n');
    for (const secret of secrets) expect(output).not.toContain(secret);
    expect(output).not.toContain('-----BEGIN');
    expect(output).not.toMatch(/v3=[0-9a-f]{64}/);
    expect(output).not.toMatch(/Bearer\s+(?!\[redacted\])/);
  }, 60_000);
});

describe('request ids, when the router trusts the client with them', () => {
  let graph: RunningGraph;
  beforeAll(async () => {
    graph = await startGraph('logs', { routerEnv: { TRUST_REQUEST_ID: 'true' } });
  });
  afterAll(() => graph?.stop());

  it("keeps a client's well-formed id, sends it to each subgraph, and replaces a bad one", async () => {
    const { token } = await graph.login('user', 'u');
    const before = graph.subgraphRequests.users.length + graph.subgraphRequests.orders.length;
    const response = await graph.request(
      graph.routerUrl,
      '{ me { orders(first: 1) { edges { node { id } } } } }',
      { token, headers: { 'x-request-id': 'edge-proxy.42_a' } },
    );
    expectOk(response);
    expect(response.headers.get('x-request-id')).toBe('edge-proxy.42_a');
    const sent = [...graph.subgraphRequests.users, ...graph.subgraphRequests.orders];
    expect(sent.length - before).toBeGreaterThanOrEqual(2);
    expect(
      [...graph.subgraphRequests.users.slice(-1), ...graph.subgraphRequests.orders.slice(-1)].map(
        (request) => request.headers['x-request-id'],
      ),
    ).toEqual(['edge-proxy.42_a', 'edge-proxy.42_a']);

    for (const bad of ['has space', 'x'.repeat(65), 'quote"d']) {
      const replaced = await graph.request(graph.routerUrl, '{ __typename }', {
        headers: { 'x-request-id': bad },
      });
      expect(replaced.headers.get('x-request-id')).toMatch(REQUEST_ID);
      expect(replaced.headers.get('x-request-id')).not.toBe(bad);
    }
  });
});
