/**
 * The "real graph" scenario: what a client's request costs end to end, through the router to
 * the compiled subgraphs on FerretDB (scripts/bench/graph.ts), for four operations a client of
 * this graph sends: a user's own orders, the admin's orders list with their owners, placing an
 * order, and logging in. One operation at a time, round after round, as in the gateway-overhead
 * scenario; for each, every process's CPU time per request and the MongoDB commands per request.
 */
import { randomUUID } from 'node:crypto';
import {
  CREATE_ORDER,
  LOGIN_LIMITS,
  at,
  dataOf,
  type Account,
  type BenchGraph,
  type RouterName,
} from './graph.js';
import {
  commandsTable,
  failuresOf,
  graphTable,
  measureOnGraph,
  summarise,
  type GraphSample,
} from './graphLoad.js';
import type { LoadRequest } from './load.js';
import { MY_ORDERS } from './queries.js';
import type { Scenario, ScenarioOptions, ScenarioReport } from './scenario.js';

const ALL_ORDERS = /* GraphQL */ `
  query AllOrders {
    orders(first: 20) {
      edges {
        node {
          id
          item
          user {
            username
          }
        }
      }
    }
  }
`;
const LOGIN = /* GraphQL */ `
  mutation Login($username: String!, $password: String!, $deviceToken: String) {
    login(username: $username, password: $password, deviceToken: $deviceToken) {
      accessToken
      refreshToken
    }
  }
`;

const JSON_HEADERS = { 'content-type': 'application/json' };
/**
 * On two cores, enough to keep every process busy; more only queue, and past MongoDB's 2 s
 * timeout (MONGODB_TIMEOUT_MS) the answers turn into SERVICE_UNAVAILABLE.
 */
const CONNECTIONS = 10;
/** The item of every order the createOrder load places, so that they can be told apart. */
const BENCH_ITEM = 'bench item';

/** One operation of the scenario: how to send it, and what a right answer holds. */
interface Operation {
  readonly name: string;
  readonly label: string;
  /** The default router, or the one with DEDUPLICATE_SUBGRAPH_QUERIES=false. */
  readonly via: RouterName;
  readonly connections: number;
  readonly request: (graph: BenchGraph) => LoadRequest | (() => LoadRequest);
  /** The whole answer, parsed: undefined when it is right, else what is wrong. */
  readonly verify: (data: unknown, graph: BenchGraph) => string | undefined;
}

/** Each request as the next of `accounts`, in turn: many users, as a real graph has. */
function inTurn(accounts: readonly Account[], make: (account: Account) => LoadRequest) {
  let next = 0;
  return () => {
    const account = accounts[next % accounts.length];
    next += 1;
    if (!account) throw new Error('no accounts to send requests as');
    return make(account);
  };
}

const bearer = (account: Account) => ({
  ...JSON_HEADERS,
  authorization: `Bearer ${account.token}`,
});

const allOrders = (via: RouterName): Operation => ({
  name: via === 'router' ? 'all-orders' : 'all-orders-no-dedupe',
  label:
    via === 'router'
      ? "the admin's orders list, with owners: orders(first: 20) { … user { username } }"
      : "the admin's orders list, router with dedupe off",
  via,
  connections: CONNECTIONS,
  request: (graph) => ({
    headers: bearer(graph.admin),
    body: JSON.stringify({ query: ALL_ORDERS, operationName: 'AllOrders' }),
  }),
  verify: (data) => {
    const edges = at(data, 'orders', 'edges');
    if (!Array.isArray(edges) || edges.length !== 20) return 'not 20 orders';
    if (edges.some((edge) => typeof at(edge, 'node', 'user', 'username') !== 'string'))
      return 'an order without its owner';
    return undefined;
  },
});

const OPERATIONS: readonly Operation[] = [
  {
    name: 'my-orders',
    label: "a user's own orders, with their owner: me { orders(first: 10) }",
    via: 'router',
    connections: CONNECTIONS,
    request: (graph) =>
      inTurn(graph.users, (user) => ({
        headers: bearer(user),
        body: JSON.stringify({ query: MY_ORDERS, operationName: 'MyOrders' }),
      })),
    verify: (data, graph) => {
      const edges = at(data, 'me', 'orders', 'edges');
      if (!Array.isArray(edges)) return 'no me.orders.edges';
      if (edges.length !== Math.min(10, graph.ordersPerUser)) return `${edges.length} orders`;
      const owner = at(data, 'me', 'id');
      if (edges.some((edge) => at(edge, 'node', 'user', 'id') !== owner)) return 'another owner';
      return undefined;
    },
  },
  // One admin's identical queries: with dedupe on, those in flight at once share one request
  // to each subgraph.
  allOrders('router'),
  allOrders('router-no-dedupe'),
  {
    name: 'create-order',
    label: 'createOrder, a new order each time (a fresh idempotencyKey)',
    via: 'router',
    connections: CONNECTIONS,
    request: (graph) =>
      inTurn(graph.users, (user) => ({
        headers: bearer(user),
        body: JSON.stringify({
          query: CREATE_ORDER,
          operationName: 'CreateOrder',
          variables: {
            input: { item: BENCH_ITEM, address: '1 Bench Street', idempotencyKey: randomUUID() },
          },
        }),
      })),
    verify: (data) =>
      typeof at(data, 'createOrder', 'id') === 'string' ? undefined : 'no createOrder.id',
  },
  {
    name: 'login',
    label: 'login, a returning device (its deviceToken)',
    via: 'router',
    // Each login hashes a password (argon2id) on a pool as wide as the machine's cores, with a
    // short queue behind it; more connections would only wait in it.
    connections: 4,
    request: (graph) =>
      inTurn(graph.users, (user) => ({
        headers: JSON_HEADERS,
        body: JSON.stringify({
          query: LOGIN,
          operationName: 'Login',
          variables: {
            username: user.username,
            password: user.password,
            deviceToken: user.deviceToken,
          },
        }),
      })),
    verify: (data) =>
      typeof at(data, 'login', 'accessToken') === 'string' ? undefined : 'no login.accessToken',
  },
];

async function run({ smoke, graph: getGraph }: ScenarioOptions): Promise<ScenarioReport> {
  const graph = await getGraph();
  const rounds = smoke ? 1 : 5;
  const seconds = smoke ? 5 : 4;
  // A smoke run's requests, per operation and round: enough to see every kind of answer.
  const smokeRequests = 24;
  // In a full run every answer is scanned for errors, and one in this many checked whole.
  const verifyEvery = smoke ? 1 : 20;
  const samples = new Map<string, GraphSample[]>(OPERATIONS.map(({ name }) => [name, []]));
  const failures: string[] = [];
  console.log(
    `real graph: ${rounds} round(s) of ${smoke ? `${smokeRequests} requests` : `${seconds} s`} per operation`,
  );
  for (let round = 1; round <= rounds; round += 1) {
    for (const operation of OPERATIONS) {
      const ordersBefore = operation.name === 'create-order' ? await graph.countOrders() : 0;
      // Each login window starts with no attempts filed, as the first does: see the notes.
      if (operation.name === 'login') await graph.clearLoginAttempts();
      let placed = 0;
      const sample = await measureOnGraph(graph, round, operation.via, {
        url: operation.via === 'router' ? graph.routerUrl : graph.routerNoDedupeUrl,
        connections: operation.connections,
        seconds,
        ...(smoke ? { maxRequests: smokeRequests } : {}),
        request: operation.request(graph),
        check: (status, body, n) => {
          if (status !== 200) return 'not 200';
          if (body.includes('"errors"')) return 'errors';
          if (n % verifyEvery === 0) {
            const problem = operation.verify(dataOf(body), graph);
            if (problem) return problem;
          }
          if (operation.name === 'create-order') placed += 1;
          return undefined;
        },
      });
      samples.get(operation.name)?.push(sample);
      if (operation.name === 'create-order') {
        // Every right answer placed an order of its own; a wrong one may have placed one too
        // (that is what the idempotency key is for), and so may those in flight at the end.
        const added = (await graph.countOrders()) - ordersBefore;
        if (added < placed || added > sample.sent) {
          failures.push(`createOrder round ${round}: ${placed} answered, ${added} orders added`);
        }
        // Every round reads the same orders: see the notes.
        await graph.deleteOrders(BENCH_ITEM);
      }
      console.log(
        `  round ${round} ${operation.name}: ${sample.reqPerSec.toFixed(0)} req/s, ${sample.cpuMsPerRequest.all.toFixed(2)} CPU ms/req in all, ${sample.commandsPerRequest.toFixed(1)} MongoDB commands/req`,
      );
    }
  }
  const rows = OPERATIONS.map(({ name, label }) => ({
    name,
    label,
    summary: summarise(samples.get(name) ?? []),
  }));
  return {
    markdown: [graphTable(rows), '', commandsTable(rows)].join('\n'),
    notes: [
      `login throttling raised for the benchmark (users service env): ${Object.entries(LOGIN_LIMITS)
        .map(([name, value]) => `${name}=${value}`)
        .join(', ')}; every login comes from 127.0.0.1.`,
      'the login attempts filed are deleted (in the database) before each login window: with the raised per-address limit every login reads all the earlier ones from 127.0.0.1 (the limit + 40 at most), and the figures would grow from round to round.',
      `seeded through the graph: an admin and ${graph.users.length} users with ${graph.ordersPerUser} orders each; requests go out as each user in turn. The orders createOrder places are deleted (in the database) after each of its windows, so that every round reads the same ${graph.users.length * graph.ordersPerUser} orders: FerretDB's SQLite backend scans a whole collection for every query that is not by _id, so what a list costs grows with the collection.`,
      "CPU ms/req (and commands, fetches): each process's CPU time over the window, and until the graph is idle again, divided by the requests sent (the answers, and those in flight when the window ended, whose work the services finish).",
    ],
    json: {
      scenario: 'real graph',
      rounds,
      seconds,
      loginLimits: LOGIN_LIMITS,
      seeded: { users: graph.users.length, ordersPerUser: graph.ordersPerUser },
      operations: OPERATIONS.map(({ name, label, via, connections }) => ({
        name,
        label,
        via,
        connections,
      })),
      queries: {
        myOrders: MY_ORDERS,
        allOrders: ALL_ORDERS,
        createOrder: CREATE_ORDER,
        login: LOGIN,
      },
      samples: Object.fromEntries(samples),
      summary: Object.fromEntries(rows.map(({ name, summary }) => [name, summary])),
    },
    failures: [
      ...failures,
      ...OPERATIONS.flatMap(({ name }) => failuresOf(name, samples.get(name) ?? [])),
    ],
  };
}

export const realGraph: Scenario = { name: 'real-graph', title: 'real graph', run };
