import { request as httpRequest } from 'node:http';
import { createServer, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { IDENTITY_HEADERS, signRequest } from '@supergraph/identity';
import { createLogger, createMongoClient, listen } from '@supergraph/service-kit';
import { createRequestIdStore } from '@supergraph/subgraph-kit';
import { loadOrdersConfig } from '../subgraphs/orders/src/config.js';
import { createOrdersSubgraph } from '../subgraphs/orders/src/server.js';
import { expectOk } from './expect.js';
import {
  startGraph,
  type GraphQLResponse,
  type RunningGraph,
  type SubgraphRequest,
} from './graph.js';

/**
 * A request captured between the router and a subgraph cannot be sent again: every signed
 * request carries a random id, covered by the signature, that each subgraph accepts once.
 */
let graph: RunningGraph;
let user: { token: string; userId: string };
let admin: { token: string; userId: string };

beforeAll(async () => {
  graph = await startGraph('replay');
  user = await graph.login('user', 'u');
  admin = await graph.login('admin', 'a');
});
afterAll(() => graph?.stop());

const CREATE_ORDER =
  'mutation { createOrder(input: { item: "replayed", address: "1 Main St" }) { id } }';
const USERS_QUERY = '{ users(first: 5) { edges { node { id } } } }';

function expectRefused(response: GraphQLResponse): void {
  expect(response.status, JSON.stringify(response.body)).toBe(401);
  expect(response.body).not.toHaveProperty('data');
  expect(response.body).toMatchObject({
    errors: [{ extensions: { code: 'UNAUTHENTICATED' }, message: expect.stringMatching(/router/) }],
  });
}

/** The headers a captured request carried, less those of its connection. */
function replayHeaders(captured: SubgraphRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(captured.headers)) {
    if (['host', 'content-length', 'connection', 'transfer-encoding'].includes(name)) continue;
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

/**
 * POSTs with headers exactly as listed, in order, repeats kept as separate header lines (fetch
 * would join them into one), and returns the answer.
 */
function postRaw(url: string, body: string, rawHeaders: string[]): Promise<GraphQLResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        // Given as a list, Node adds no headers of its own, not even the Host HTTP/1.1 requires.
        headers: [
          'host',
          new URL(url).host,
          'content-type',
          'application/json',
          'content-length',
          String(Buffer.byteLength(body)),
          ...rawHeaders,
        ],
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => {
          try {
            resolve({
              status: res.statusCode ?? 0,
              headers: new Headers(),
              body: JSON.parse(text) as GraphQLResponse['body'],
            });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A fresh request to the users subgraph, signed as the router signs one for the admin. */
function signedAsAdmin(body: string): Record<string, string> {
  return {
    [IDENTITY_HEADERS.userId]: admin.userId,
    [IDENTITY_HEADERS.role]: 'ADMIN',
    ...signRequest({
      secret: graph.identitySecret,
      audience: 'users',
      userId: admin.userId,
      role: 'ADMIN',
      body,
    }),
  };
}

describe('a captured router request sent again', () => {
  it('is refused by orders, however often, and places no second order', async () => {
    const orders = graph.ordersDb.collection('orders');
    const before = graph.subgraphRequests.orders.length;
    const placed = expectOk(
      await graph.request(graph.routerUrl, CREATE_ORDER, { token: user.token }),
    );
    expect(placed['createOrder']).toMatchObject({ id: expect.any(String) });
    const sent = graph.subgraphRequests.orders.slice(before);
    expect(sent).toHaveLength(1);
    const [captured] = sent;
    if (!captured) throw new Error('the router sent orders nothing');
    expect(captured.body).toContain('createOrder');

    // What the issue saw: 24 replays inside the window, at once.
    const replays = await Promise.all(
      Array.from({ length: 24 }, () =>
        graph.post(graph.ordersUrl, captured.body, replayHeaders(captured)),
      ),
    );
    for (const replay of replays) expectRefused(replay);
    expect(await orders.countDocuments({ item: 'replayed' })).toBe(1);
    expect(captured.headers[IDENTITY_HEADERS.requestId]).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(graph.logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({
          reason: 'replayed',
          signedRequestId: captured.headers[IDENTITY_HEADERS.requestId],
        }),
      }),
    );
  });

  it('is refused by users too', async () => {
    const before = graph.subgraphRequests.users.length;
    expectOk(await graph.request(graph.routerUrl, '{ me { id } }', { token: user.token }));
    const [captured] = graph.subgraphRequests.users.slice(before);
    if (!captured) throw new Error('the router sent users nothing');
    expectRefused(await graph.post(graph.usersUrl, captured.body, replayHeaders(captured)));
  });
});

describe('the signature headers are read strictly', () => {
  const body = JSON.stringify({ query: USERS_QUERY });

  it('answers a signed request sent once (the control for the cases below)', async () => {
    const headers = signedAsAdmin(body);
    const response = await postRaw(graph.usersUrl, body, Object.entries(headers).flat());
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toHaveProperty('data.users.edges');
  });

  it('refuses a second signature header after a valid one', async () => {
    const headers = signedAsAdmin(body);
    const signature = headers[IDENTITY_HEADERS.signature] ?? '';
    const raw = [...Object.entries(headers).flat(), IDENTITY_HEADERS.signature, signature];
    expectRefused(await postRaw(graph.usersUrl, body, raw));
  });

  it('refuses trailing garbage after a valid signature', async () => {
    const headers = signedAsAdmin(body);
    const signature = headers[IDENTITY_HEADERS.signature] ?? '';
    expectRefused(
      await graph.post(graph.usersUrl, body, {
        ...headers,
        [IDENTITY_HEADERS.signature]: `${signature};garbage`,
      }),
    );
  });

  it('refuses a changed request id (the signature covers it), and the real id still works', async () => {
    const headers = signedAsAdmin(body);
    // A well-formed id nobody used yet, so only the signature can refuse it.
    const tampered = { ...headers, [IDENTITY_HEADERS.requestId]: 'A'.repeat(22) };
    expectRefused(await graph.post(graph.usersUrl, body, tampered));
    // A refused forgery does not use up the id it was built from.
    const response = await graph.post(graph.usersUrl, body, headers);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  });
});

describe('the request id store', () => {
  it('sweeps expired ids in bounded batches and keeps live ones', async () => {
    const store = createRequestIdStore(graph.ordersDb, { maxSkewSeconds: 10, maxTimeMs: 2_000 });
    const ids = graph.ordersDb.collection<{ _id: string; expiresAt: Date }>('signedRequestIds');
    const now = new Date();
    const past = new Date(now.getTime() - 60_000);
    await ids.insertMany(
      Array.from({ length: 2_500 }, (_, i) => ({ _id: `expired-${i}`, expiresAt: past })),
    );
    const nowSeconds = Math.floor(now.getTime() / 1000);
    expect(await store.claim('live-request-id-000000', nowSeconds)).toBe(true);
    expect(await store.claim('live-request-id-000000', nowSeconds)).toBe(false);

    const commandsBefore = graph.commands.length;
    expect(await store.sweep(now)).toBeGreaterThanOrEqual(2_500);
    expect(await ids.countDocuments({ expiresAt: { $lt: now } })).toBe(0);
    expect(await ids.countDocuments({ _id: 'live-request-id-000000' })).toBe(1);
    const deletes = graph.commands
      .slice(commandsBefore)
      .filter((event) => event.commandName === 'delete');
    expect(deletes.length).toBeGreaterThanOrEqual(3);
    for (const event of deletes) {
      expect(event.command).toMatchObject({
        deletes: [{ q: { _id: { $in: expect.any(Array) } } }],
      });
      const ids: unknown = event.command['deletes'][0].q._id.$in;
      expect(Array.isArray(ids) && ids.length).toBeLessThanOrEqual(1_000);
    }
  });
});

describe('a subgraph that cannot reach its database', () => {
  it('answers a signed request 503 SERVICE_UNAVAILABLE, not 500', async () => {
    // FerretDB behind a proxy this test can cut: an outage of this subgraph's database alone.
    const upstream = new URL(inject('mongodbUri'));
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const server = connect(Number(upstream.port), upstream.hostname);
      for (const socket of [client, server]) {
        sockets.add(socket);
        socket.on('error', () => socket.destroy());
        socket.on('close', () => sockets.delete(socket));
      }
      client.pipe(server).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    if (address === null || typeof address === 'string') throw new Error('no proxy port');
    const mongodbUri = `mongodb://127.0.0.1:${address.port}/`;
    const config = loadOrdersConfig({
      NODE_ENV: 'test',
      MONGODB_URI: mongodbUri,
      MONGODB_TIMEOUT_MS: '500',
      IDENTITY_SIGNING_SECRET: graph.identitySecret,
      ORDERS_DB: `${graph.ordersDb.databaseName}_outage`,
    });
    const client = createMongoClient(mongodbUri, { timeoutMs: config.mongodbTimeoutMs });
    const warnings: string[] = [];
    const logger = {
      ...createLogger('orders', 'silent'),
      warn: (message: string) => warnings.push(message),
    };
    const orders = await createOrdersSubgraph({ config, db: client.db(config.database), logger });
    const server = await listen(orders.listener, { host: '127.0.0.1', port: 0 });
    try {
      await client.db(config.database).dropDatabase();
      proxy.close();
      for (const socket of sockets) socket.destroy();

      const body = JSON.stringify({ query: '{ __typename }' });
      const response = await graph.post(server.url, body, {
        ...signRequest({
          secret: graph.identitySecret,
          audience: 'orders',
          userId: undefined,
          role: undefined,
          body,
        }),
      });
      expect(response.status, JSON.stringify(response.body)).toBe(503);
      expect(response.body).not.toHaveProperty('data');
      expect(response.body.errors).toEqual([
        {
          message: expect.stringMatching(/Try again/),
          extensions: { code: 'SERVICE_UNAVAILABLE' },
        },
      ]);
      // The store's insert failed, before anything ran.
      expect(warnings).toContain('could not record a request id: database unavailable');
    } finally {
      await server.close(1_000);
      await orders.stop();
      await client.close();
    }
  });
});
