import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { CommandStartedEvent, Db } from 'mongodb';
import { inject } from 'vitest';
import { IDENTITY_HEADERS, signRequest, type Identity } from '@supergraph/identity';
import {
  createLogger,
  createMetricsRegistry,
  createMongoClient,
  listen,
  serveMetrics,
  startTracing,
  type Logger,
  type Registry,
  type RunningHttpServer,
} from '@supergraph/service-kit';
import { createRouter } from '../router/src/server.js';
import { startRouterTracing } from '../router/src/tracing.js';
import { loadRouterConfig } from '../router/src/config.js';
import {
  generateSigningKey,
  type SigningKey,
  type VerificationKey,
} from '../subgraphs/users/src/auth/keys.js';
import { loadUsersConfig } from '../subgraphs/users/src/config.js';
import { seedUsers } from '../subgraphs/users/src/db/seed.js';
import { createUsersSubgraph } from '../subgraphs/users/src/server.js';
import { loadOrdersConfig } from '../subgraphs/orders/src/config.js';
import { createOrdersSubgraph } from '../subgraphs/orders/src/server.js';

export interface GraphQLResponse {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: {
      message: string;
      path?: (string | number)[];
      extensions?: Record<string, unknown>;
    }[];
  };
}

export interface RunningGraph {
  readonly routerUrl: string;
  readonly usersUrl: string;
  readonly ordersUrl: string;
  /** The secret the router signs subgraph requests with. */
  readonly identitySecret: string;
  /** The key the users subgraph signs tokens with now (see `restartUsers`). */
  readonly signingKey: SigningKey;
  readonly jwt: { readonly issuer: string; readonly audience: string };
  readonly usersDb: Db;
  readonly ordersDb: Db;
  /** Every GraphQL request (POST /graphql) each subgraph has received, as received. */
  readonly subgraphRequests: Record<'users' | 'orders', SubgraphRequest[]>;
  /** Every log entry of the services so far: what the operator sees, and no client does. */
  readonly logs: readonly LogEntry[];
  /** Every MongoDB command the subgraphs have sent so far (the driver's command monitoring). */
  readonly commands: CommandStartedEvent[];
  /**
   * Each service's Prometheus scrape URL, served from its own registry on a port of its own as
   * METRICS_PORT serves it (the replicas of `startReplica` have none).
   */
  readonly metricsUrls: {
    readonly router: string;
    readonly users: string;
    readonly orders: string;
  };
  /** POSTs a GraphQL request; `token` becomes `Authorization: Bearer <token>`. */
  request(
    url: string,
    query: string,
    options?: {
      variables?: Record<string, unknown>;
      token?: string;
      headers?: Record<string, string>;
    },
  ): Promise<GraphQLResponse>;
  /** POSTs exact body bytes with these headers (plus `content-type: application/json`). */
  post(url: string, body: string, headers?: Record<string, string>): Promise<GraphQLResponse>;
  /**
   * POSTs straight to a subgraph, signed as the router would sign it for `identity` (null for
   * anonymous). This is how tests reach `_entities` with a valid signature but another identity.
   */
  requestSubgraph(
    subgraph: 'users' | 'orders',
    query: string,
    options?: {
      variables?: Record<string, unknown>;
      identity?: Identity | null;
      /** Signed as the router signs the caller's address. */
      clientIp?: string;
    },
  ): Promise<GraphQLResponse>;
  /** Stops one subgraph's HTTP server, to see how the router copes without it. */
  stopSubgraph(subgraph: 'users' | 'orders'): Promise<void>;
  /**
   * Logs in through the router and returns the access token, the refresh token and the user id.
   * `options.url` logs in through another router (a replica's).
   */
  login(
    username: string,
    password: string,
    options?: { url?: string },
  ): Promise<{ token: string; userId: string; refreshToken: string }>;
  /**
   * Replaces the users subgraph with a new instance on the same URL and database, signing with
   * `signingKey` and trusting `previousKeys` too: what a restart after a key rotation does. The
   * router keeps its cached JWKS, as a running router would.
   */
  restartUsers(keys: {
    signingKey: SigningKey;
    previousKeys?: readonly VerificationKey[];
  }): Promise<void>;
  /**
   * Starts a second users subgraph and a second router on the same databases, secret and keys:
   * another replica of each, sharing nothing with the first but MongoDB. Stopped with the graph.
   */
  startReplica(): Promise<{ readonly routerUrl: string; readonly usersUrl: string }>;
  stop(): Promise<void>;
}

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A GraphQL request a subgraph received. */
export interface SubgraphRequest {
  readonly headers: IncomingHttpHeaders;
  /** The body as received; complete once the subgraph has answered. */
  body: string;
}

/**
 * Files a POST /graphql as it reaches a subgraph. The body is copied from 'data' events, which a
 * stream emits for each chunk its consumer reads: the subgraph's own reader attaches in the same
 * tick and controls the flow, so it misses nothing.
 */
function record(requests: SubgraphRequest[], req: IncomingMessage): void {
  if (req.method !== 'POST' || req.url !== '/graphql') return;
  const request: SubgraphRequest = { headers: req.headers, body: '' };
  requests.push(request);
  req.on('data', (chunk: Buffer) => (request.body += chunk.toString('utf8')));
}

/**
 * Boots the real graph for one test file: both subgraphs and the router, over real HTTP on
 * 127.0.0.1 port 0, against the MongoDB that test/globalSetup.ts started, in databases named
 * after `name` so that test files never share data.
 */
export async function startGraph(
  name: string,
  options: {
    /** Extra router environment, e.g. `ORDERS_URL` pointing somewhere else, or a short timeout. */
    routerEnv?: Record<string, string>;
    /** Extra users subgraph environment, e.g. short login throttling for a test. */
    usersEnv?: Record<string, string>;
    /** Extra orders subgraph environment, e.g. `OTEL_EXPORTER_OTLP_ENDPOINT`. */
    ordersEnv?: Record<string, string>;
  } = {},
): Promise<RunningGraph> {
  const mongodbUri = inject('mongodbUri');
  const databasePrefix = `t_${name.replace(/\W+/g, '_')}_${randomBytes(3).toString('hex')}`;
  const identitySecret = randomBytes(32).toString('hex');
  let signingKey = await generateSigningKey('EdDSA');
  let previousKeys: readonly VerificationKey[] = [];
  // TEST_LOG_LEVEL=debug npm run test:int shows the services' logs when a test needs explaining.
  const printer = createLogger(
    'test',
    process.env['TEST_LOG_LEVEL'] === 'debug' ? 'debug' : 'silent',
  );
  // Every entry is also kept, so that a test can check what reaches the log and not the client.
  const logs: LogEntry[] = [];
  const keep =
    (level: LogEntry['level']) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      logs.push({ level, message, fields });
      printer[level](message, fields);
    };
  const logger: Logger = {
    debug: keep('debug'),
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
  };
  const baseEnv = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    MONGODB_URI: mongodbUri,
    IDENTITY_SIGNING_SECRET: identitySecret,
  };
  // Each service's tracing, from its own environment, as its index.ts starts it. The router's
  // first: the process's global tracer provider is the first one registered.
  const tracing = {
    router: startRouterTracing({ ...baseEnv, ...options.routerEnv }),
    users: startTracing({ service: 'users', env: { ...baseEnv, ...options.usersEnv } }),
    orders: startTracing({ service: 'orders', env: { ...baseEnv, ...options.ordersEnv } }),
  };

  const registries = {
    router: createMetricsRegistry(),
    users: createMetricsRegistry(),
    orders: createMetricsRegistry(),
  };
  // One client per subgraph, as in production, so that each counts its own MongoDB work.
  const client = createMongoClient(mongodbUri, {
    monitorCommands: true,
    metrics: { registry: registries.users, service: 'users' },
    traceCommands: tracing.users.enabled,
  });
  await client.connect();
  const commands: CommandStartedEvent[] = [];
  client.on('commandStarted', (event) => commands.push(event));

  const servers: RunningHttpServer[] = [];
  const stops: (() => Promise<void>)[] = [];

  const usersConfig = loadUsersConfig({
    ...baseEnv,
    USERS_DB: `${databasePrefix}_users`,
    ...options.usersEnv,
  });
  const usersDb = client.db(usersConfig.database);
  const createUsers = (registry?: Registry) =>
    createUsersSubgraph({
      config: usersConfig,
      db: usersDb,
      signingKey,
      previousKeys,
      logger,
      ...(registry ? { registry } : {}),
    });
  let users = await createUsers(registries.users);
  await seedUsers(usersDb, users.repository, usersConfig.seeds, users.passwords, logger);
  const subgraphRequests: RunningGraph['subgraphRequests'] = { users: [], orders: [] };
  const usersServer = await listen(
    (req, res) => {
      record(subgraphRequests.users, req);
      users.listener(req, res);
    },
    { host: '127.0.0.1', port: 0 },
  );
  servers.push(usersServer);
  stops.push(() => users.stop());

  const ordersConfig = loadOrdersConfig({
    ...baseEnv,
    ORDERS_DB: `${databasePrefix}_orders`,
    ...options.ordersEnv,
  });
  const ordersClient = createMongoClient(mongodbUri, {
    monitorCommands: true,
    metrics: { registry: registries.orders, service: 'orders' },
    traceCommands: tracing.orders.enabled,
  });
  await ordersClient.connect();
  ordersClient.on('commandStarted', (event) => commands.push(event));
  const ordersDb = ordersClient.db(ordersConfig.database);
  const orders = await createOrdersSubgraph({ config: ordersConfig, db: ordersDb, logger });
  const ordersServer = await listen(
    (req, res) => {
      record(subgraphRequests.orders, req);
      orders.listener(req, res);
    },
    { host: '127.0.0.1', port: 0 },
  );
  servers.push(ordersServer);
  stops.push(() => orders.stop());

  async function startRouter(usersUrl: string, registry?: Registry): Promise<RunningHttpServer> {
    const routerConfig = loadRouterConfig({
      ...baseEnv,
      USERS_URL: usersUrl,
      ORDERS_URL: ordersServer.url,
      JWKS_URL: new URL('/.well-known/jwks.json', usersUrl).href,
      ...options.routerEnv,
    });
    const router = await createRouter({
      config: routerConfig,
      logger,
      ...(registry ? { registry } : {}),
    });
    const server = await listen(router.listener, { host: '127.0.0.1', port: 0 });
    servers.push(server);
    stops.push(() => router.stop());
    return server;
  }
  const routerServer = await startRouter(usersServer.url, registries.router);
  const metricsServers = {
    router: await serveMetrics(registries.router, { host: '127.0.0.1', port: 0 }),
    users: await serveMetrics(registries.users, { host: '127.0.0.1', port: 0 }),
    orders: await serveMetrics(registries.orders, { host: '127.0.0.1', port: 0 }),
  };
  /** The device token of each username's last login through `login` below. */
  const deviceTokens = new Map<string, string>();

  const request: RunningGraph['request'] = (url, query, options = {}) =>
    send(url, JSON.stringify({ query, variables: options.variables ?? {} }), {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    });

  async function send(
    url: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<GraphQLResponse> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await response.text();
    let parsed: GraphQLResponse['body'];
    try {
      parsed = JSON.parse(text) as GraphQLResponse['body'];
    } catch {
      throw new Error(
        `expected a JSON response from ${url}, got HTTP ${response.status}: ${text.slice(0, 200)}`,
      );
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  const requestSubgraph: RunningGraph['requestSubgraph'] = (subgraph, query, options = {}) => {
    const body = JSON.stringify({ query, variables: options.variables ?? {} });
    const identity = options.identity ?? null;
    const identityHeaders: Record<string, string> = {
      ...(identity
        ? { [IDENTITY_HEADERS.userId]: identity.id, [IDENTITY_HEADERS.role]: identity.role }
        : {}),
      ...(options.clientIp ? { [IDENTITY_HEADERS.clientIp]: options.clientIp } : {}),
    };
    const signature = signRequest({
      secret: identitySecret,
      audience: subgraph,
      userId: identity?.id,
      role: identity?.role,
      clientIp: options.clientIp,
      body,
    });
    return send(subgraph === 'users' ? usersServer.url : ordersServer.url, body, {
      ...identityHeaders,
      ...signature,
    });
  };

  return {
    routerUrl: routerServer.url,
    usersUrl: usersServer.url,
    ordersUrl: ordersServer.url,
    identitySecret,
    get signingKey() {
      return signingKey;
    },
    jwt: { issuer: usersConfig.jwt.issuer, audience: usersConfig.jwt.audience },
    usersDb,
    ordersDb,
    subgraphRequests,
    logs,
    commands,
    metricsUrls: {
      router: metricsServers.router.url,
      users: metricsServers.users.url,
      orders: metricsServers.orders.url,
    },
    request,
    post: send,
    requestSubgraph,
    stopSubgraph: (subgraph) => (subgraph === 'users' ? usersServer : ordersServer).close(1_000),
    async login(username, password, { url = routerServer.url } = {}) {
      // As a browser would: each login sends the device token the last one gave.
      const { body } = await request(
        url,
        'mutation ($u: String!, $p: String!, $d: String) { login(username: $u, password: $p, deviceToken: $d) { accessToken refreshToken deviceToken user { id } } }',
        { variables: { u: username, p: password, d: deviceTokens.get(username) ?? null } },
      );
      const payload = body.data?.['login'] as
        | { accessToken: string; refreshToken: string; deviceToken: string; user: { id: string } }
        | undefined;
      if (!payload) throw new Error(`login as ${username} failed: ${JSON.stringify(body.errors)}`);
      deviceTokens.set(username, payload.deviceToken);
      return {
        token: payload.accessToken,
        userId: payload.user.id,
        refreshToken: payload.refreshToken,
      };
    },
    async restartUsers(keys) {
      signingKey = keys.signingKey;
      previousKeys = keys.previousKeys ?? [];
      const replaced = users;
      users = await createUsers(registries.users);
      await replaced.stop();
    },
    async startReplica() {
      const replica = await createUsers();
      stops.push(() => replica.stop());
      const replicaUsers = await listen(replica.listener, { host: '127.0.0.1', port: 0 });
      servers.push(replicaUsers);
      const replicaRouter = await startRouter(replicaUsers.url);
      return { routerUrl: replicaRouter.url, usersUrl: replicaUsers.url };
    },
    async stop() {
      await Promise.all(servers.map((server) => server.close(1_000)));
      for (const stop of stops.reverse()) await stop();
      await usersDb.dropDatabase().catch(() => {});
      await ordersDb.dropDatabase().catch(() => {});
      await Promise.all(Object.values(metricsServers).map((server) => server.close()));
      await client.close();
      await ordersClient.close();
      // Last, so that every span has ended: shutting down exports what is left.
      await Promise.all(Object.values(tracing).map((service) => service.shutdown()));
    },
  };
}
