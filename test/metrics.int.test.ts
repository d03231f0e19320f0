import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';
import { persistedDocument } from './manifest.js';

/**
 * Prometheus metrics, scraped over HTTP from each service's own metrics port, as Prometheus
 * scrapes them: after a known sequence of requests, every counter moved by exactly what the
 * sequence did, with the labels a dashboard reads.
 */

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses Prometheus text exposition: `name{label="value",...} number`. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match?.[1] || match[3] === undefined) throw new Error(`not a sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (key !== undefined && value !== undefined) labels[key] = value;
    }
    const raw = match[3];
    samples.push({
      name: match[1],
      labels,
      value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw),
    });
  }
  return samples;
}

async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await response.text());
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there is none). */
function valueOf(
  samples: readonly Sample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  return samples
    .filter(
      (sample) =>
        sample.name === name &&
        Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** Every distinct value of `label` among the samples of `name`. */
function labelValues(samples: readonly Sample[], name: string, label: string): Set<string> {
  return new Set(
    samples.filter((sample) => sample.name === name).flatMap((s) => s.labels[label] ?? []),
  );
}

const REQUESTS = 'supergraph_router_requests_total';
const ME = '{ me { id } }';

let graph: RunningGraph;
let adminToken: string;
let adminDeviceToken: string;
let revokedToken: string;

beforeAll(async () => {
  graph = await startGraph('metrics', {
    // Each request reads the revocation list afresh, so that a logout applies at once.
    routerEnv: { REVOCATION_REFRESH_MS: '0' },
    // One failure locks a username out: the second wrong login is throttled.
    usersEnv: { LOGIN_MAX_FAILURES_PER_USERNAME: '1' },
  });
  // The device token lets the admin log in again: with LOGIN_MAX_FAILURES_PER_USERNAME=1, a
  // login without it would be the username's second attempt, and throttled.
  const admin = expectOk(await byHash('Login', { username: 'admin', password: 'a' }));
  const payload = admin['login'] as { accessToken: string; deviceToken: string };
  adminToken = payload.accessToken;
  adminDeviceToken = payload.deviceToken;
  const session = await graph.login('user', 'u');
  revokedToken = session.token;
  expectOk(
    await graph.request(graph.routerUrl, 'mutation ($t: String!) { logout(refreshToken: $t) }', {
      variables: { t: session.refreshToken },
    }),
  );
});
afterAll(() => graph?.stop());

/** POSTs the manifest's document for `operationName` by hash, as the example app does. */
function byHash(operationName: string, variables: Record<string, unknown>, token?: string) {
  const { hash } = persistedDocument(operationName);
  return graph.post(
    graph.routerUrl,
    JSON.stringify({
      operationName,
      variables,
      extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
    }),
    token ? { authorization: `Bearer ${token}` } : {},
  );
}

function expiredToken(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'ADMIN' })
    .setProtectedHeader({ alg: graph.signingKey.alg, kid: graph.signingKey.kid, typ: 'at+jwt' })
    .setIssuer(graph.jwt.issuer)
    .setAudience(graph.jwt.audience)
    .setSubject('000000000000000000000000')
    .setIssuedAt(now - 3600)
    .setExpirationTime(now - 60)
    .sign(graph.signingKey.privateKey);
}

describe('metrics', () => {
  it('count a known sequence of requests, logins and refusals exactly', async () => {
    const before = {
      router: await scrape(graph.metricsUrls.router),
      users: await scrape(graph.metricsUrls.users),
      orders: await scrape(graph.metricsUrls.orders),
    };

    // Two named operations of the manifest, sent by hash.
    for (let i = 0; i < 2; i += 1) {
      expectOk(await byHash('MyOrders', { first: 5 }, adminToken));
    }
    // A name the manifest does not have, and no name at all.
    expectOk(
      await graph.request(graph.routerUrl, 'query NotInTheManifest { me { id } }', {
        token: adminToken,
      }),
    );
    expectOk(await graph.request(graph.routerUrl, ME, { token: adminToken }));
    // Deeper than MAX_DEPTH (6): refused before Apollo Server runs.
    const deep = await graph.request(graph.routerUrl, '{ me { a { b { c { d { e { f } } } } } } }');
    expect(deep.body.errors?.[0]?.extensions?.['code']).toBe('MAX_DEPTH_LIMIT');
    // An expired token, and the token of a session that logged out: 401 before Apollo Server.
    const expired = await graph.request(graph.routerUrl, ME, { token: await expiredToken() });
    expect(expired.status).toBe(401);
    const revoked = await graph.request(graph.routerUrl, ME, { token: revokedToken });
    expect(revoked.body.errors?.[0]?.extensions?.['reason']).toBe('revoked');
    // A wrong password (for a username that does not exist), which locks that username out,
    // then a good login, then the locked-out username again.
    const wrong = await byHash('Login', { username: 'ghost', password: 'nope' });
    expect(wrong.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    expectOk(
      await byHash('Login', { username: 'admin', password: 'a', deviceToken: adminDeviceToken }),
    );
    const throttled = await byHash('Login', { username: 'ghost', password: 'nope' });
    expect(throttled.body.errors?.[0]?.extensions?.['code']).toBe('LOGIN_THROTTLED');

    const after = {
      router: await scrape(graph.metricsUrls.router),
      users: await scrape(graph.metricsUrls.users),
      orders: await scrape(graph.metricsUrls.orders),
    };
    const delta = (
      service: keyof typeof after,
      name: string,
      labels: Record<string, string> = {},
    ) => valueOf(after[service], name, labels) - valueOf(before[service], name, labels);

    const requests = (operation_name: string, operation_type: string, outcome: string) =>
      delta('router', REQUESTS, { operation_name, operation_type, outcome });
    expect(requests('MyOrders', 'query', 'success')).toBe(2);
    expect(requests('unknown', 'query', 'success')).toBe(1);
    expect(requests('anonymous', 'query', 'success')).toBe(1);
    expect(requests('anonymous', 'query', 'MAX_DEPTH_LIMIT')).toBe(1);
    expect(requests('anonymous', 'query', 'UNAUTHENTICATED')).toBe(2);
    expect(requests('Login', 'mutation', 'UNAUTHENTICATED')).toBe(1);
    expect(requests('Login', 'mutation', 'success')).toBe(1);
    expect(requests('Login', 'mutation', 'LOGIN_THROTTLED')).toBe(1);
    // Nothing else: ten requests, ten counts.
    expect(delta('router', REQUESTS)).toBe(10);
    // Every request is timed under the same labels.
    expect(
      delta('router', 'supergraph_router_request_duration_seconds_count', {
        operation_name: 'MyOrders',
        outcome: 'success',
      }),
    ).toBe(2);
    expect(delta('router', 'supergraph_router_request_duration_seconds_count')).toBe(10);

    expect(delta('router', 'supergraph_router_limit_refusals_total', { limit: 'depth' })).toBe(1);
    expect(delta('router', 'supergraph_router_limit_refusals_total')).toBe(1);
    const refusals = (reason: string) =>
      delta('router', 'supergraph_router_token_refusals_total', { reason });
    expect(refusals('expired')).toBe(1);
    expect(refusals('revoked')).toBe(1);
    expect(delta('router', 'supergraph_router_token_refusals_total')).toBe(2);

    // MyOrders reads users (me) and orders (orders) once each; the two other queries and the
    // three logins read users.
    const fetches = (subgraph: string) =>
      delta('router', 'supergraph_router_subgraph_fetches_total', {
        subgraph,
        outcome: 'success',
      });
    expect(fetches('users')).toBe(7);
    expect(fetches('orders')).toBe(2);
    expect(delta('router', 'supergraph_router_subgraph_fetches_total')).toBe(9);
    expect(delta('router', 'supergraph_router_subgraph_fetch_duration_seconds_count')).toBe(9);

    const logins = (outcome: string) =>
      delta('users', 'supergraph_users_logins_total', { outcome });
    expect(logins('success')).toBe(1);
    expect(logins('wrong_password')).toBe(1);
    expect(logins('throttled')).toBe(1);
    expect(delta('users', 'supergraph_users_logins_total')).toBe(3);

    // The logins looked up users; MyOrders read orders.
    expect(
      delta('users', 'supergraph_mongodb_command_duration_seconds_count', {
        service: 'users',
        command: 'find',
        outcome: 'success',
      }),
    ).toBeGreaterThan(0);
    expect(
      delta('orders', 'supergraph_mongodb_command_duration_seconds_count', {
        service: 'orders',
        command: 'find',
        outcome: 'success',
      }),
    ).toBeGreaterThan(0);
    for (const service of ['users', 'orders'] as const) {
      const total = valueOf(after[service], 'supergraph_mongodb_pool_connections', {
        service,
        state: 'total',
      });
      const checkedOut = valueOf(after[service], 'supergraph_mongodb_pool_connections', {
        service,
        state: 'checked_out',
      });
      expect(total).toBeGreaterThan(0);
      // At rest, every connection is back in the pool.
      expect(checkedOut).toBe(0);
      // Each subgraph counts its own database work only.
      expect(
        labelValues(after[service], 'supergraph_mongodb_command_duration_seconds_count', 'service'),
      ).toEqual(new Set([service]));
    }

    // Fetched for the revoked token's request a moment ago.
    const age = valueOf(after.router, 'supergraph_router_revocation_list_age_seconds');
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(10);
  });

  it("keep each service's metrics apart, with Node's process metrics in each", async () => {
    const router = await scrape(graph.metricsUrls.router);
    const users = await scrape(graph.metricsUrls.users);
    const orders = await scrape(graph.metricsUrls.orders);
    for (const samples of [router, users, orders]) {
      expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(samples.some((sample) => sample.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
    }
    expect(users.some((sample) => sample.name.startsWith('supergraph_router_'))).toBe(false);
    expect(router.some((sample) => sample.name.startsWith('supergraph_users_'))).toBe(false);
    expect(orders.some((sample) => sample.name === 'supergraph_users_logins_total')).toBe(false);
  });

  it('give operation names the manifest does not have one label: a client cannot grow the set', async () => {
    // The series of an unknown name exist from here on; no name may add one.
    expectOk(await graph.request(graph.routerUrl, 'query First { __typename }'));
    const before = await scrape(graph.metricsUrls.router);
    const names = Array.from({ length: 100 }, () => `Op_${randomBytes(6).toString('hex')}`);
    for (const name of names) {
      expectOk(await graph.request(graph.routerUrl, `query ${name} { __typename }`));
    }
    const after = await scrape(graph.metricsUrls.router);
    const operationNames = labelValues(after, REQUESTS, 'operation_name');
    expect(operationNames).toEqual(labelValues(before, REQUESTS, 'operation_name'));
    for (const name of names) expect(operationNames.has(name)).toBe(false);
    expect(
      valueOf(after, REQUESTS, { operation_name: 'unknown', outcome: 'success' }) -
        valueOf(before, REQUESTS, { operation_name: 'unknown', outcome: 'success' }),
    ).toBe(100);
    // Nor through the series of any other metric: not one series more.
    const seriesOf = (samples: readonly Sample[]) =>
      samples.filter((sample) => sample.name.startsWith('supergraph_')).length;
    expect(seriesOf(after)).toBe(seriesOf(before));
  });

  it('are served on the metrics port only, never on the GraphQL ports', async () => {
    for (const url of [graph.routerUrl, graph.usersUrl, graph.ordersUrl]) {
      const response = await fetch(new URL('/metrics', url));
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain('supergraph_');
    }
    const metricsPort = new URL(graph.metricsUrls.router).port;
    expect(metricsPort).not.toBe(new URL(graph.routerUrl).port);
    expect((await fetch(new URL('/graphql', graph.metricsUrls.router))).status).toBe(404);
  });
});

describe('metrics of refusals before any operation runs', () => {
  let enforcing: RunningGraph;
  beforeAll(async () => {
    enforcing = await startGraph('metrics_enforce', {
      routerEnv: { PERSISTED_DOCUMENTS_MODE: 'enforce', MAX_BODY_BYTES: '2000' },
    });
  });
  afterAll(() => enforcing?.stop());

  it('count trusted document and body size refusals, and the requests they refused', async () => {
    const before = await scrape(enforcing.metricsUrls.router);
    const notTrusted = await enforcing.request(enforcing.routerUrl, 'query Sneaky { __typename }');
    expect(notTrusted.body.errors?.[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    const tooLarge = await fetch(enforcing.routerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename }${' '.repeat(3000)}` }),
    });
    expect(tooLarge.status).toBe(413);
    const after = await scrape(enforcing.metricsUrls.router);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);

    expect(delta('supergraph_router_trusted_document_refusals_total')).toBe(1);
    expect(delta('supergraph_router_limit_refusals_total', { limit: 'body_size' })).toBe(1);
    expect(
      delta(REQUESTS, {
        operation_name: 'unknown',
        operation_type: 'query',
        outcome: 'PERSISTED_QUERY_NOT_IN_LIST',
      }),
    ).toBe(1);
    expect(
      delta(REQUESTS, {
        operation_name: 'unknown',
        operation_type: 'unknown',
        outcome: 'PAYLOAD_TOO_LARGE',
      }),
    ).toBe(1);
    expect(delta(REQUESTS)).toBe(2);
  });
});
