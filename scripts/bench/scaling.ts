/**
 * The "scaling" scenario: how the admin's orders list grows with its page size, through the
 * router and straight to the orders subgraph, on the real graph (scripts/bench/graph.ts). Three
 * ways at each size:
 *
 * - through the router, with each order's owner (a second fetch, to users);
 * - through the router, orders only: the one fetch to orders;
 * - straight to the orders subgraph, with the same selection as that fetch, signed as the router
 *   signs it (the identity headers, the caller's address, a timestamp and a one-time request id,
 *   so every request is signed anew).
 *
 * The router-over-direct ratio compares the second with the third: the same work in the
 * subgraph, with and without the router in front. The router is the one with
 * DEDUPLICATE_SUBGRAPH_QUERIES=false (see `ROUTER`).
 */
import { IDENTITY_HEADERS, scopesForRole, signRequest } from '@supergraph/identity';
import { at, dataOf, type BenchGraph } from './graph.js';
import {
  failuresOf,
  graphTable,
  measureOnGraph,
  summarise,
  type GraphSample,
} from './graphLoad.js';
import type { LoadRequest } from './load.js';
import type { Scenario, ScenarioOptions, ScenarioReport } from './scenario.js';
import { markdownTable, ratioSpread, show } from './stats.js';

const SIZES = [1, 10, 50, 100] as const;
/** As in the real-graph scenario: more would only queue, up to MongoDB's 2 s timeout. */
const CONNECTIONS = 10;
/**
 * Every request here is the admin's, and alike: the default router would let those in flight at
 * once share one subgraph request, and the ratio would set one subgraph request against twenty.
 */
const ROUTER = 'router-no-dedupe';

const WAYS = ['router-owners', 'router', 'direct'] as const;
type Way = (typeof WAYS)[number];
const WAY_LABELS: Record<Way, string> = {
  'router-owners': 'router, with owners',
  router: 'router, orders only',
  direct: 'orders subgraph, direct',
};

function listQuery(way: Way): string {
  const owner = way === 'router-owners' ? 'username' : 'id';
  return `query Orders($first: Int!) { orders(first: $first) { edges { node { id item user { ${owner} } } } } }`;
}

function requestFor(graph: BenchGraph, way: Way, first: number): LoadRequest | (() => LoadRequest) {
  const body = JSON.stringify({
    query: listQuery(way),
    operationName: 'Orders',
    variables: { first },
  });
  if (way !== 'direct') {
    return {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${graph.admin.token}` },
      body,
    };
  }
  // What the router sends for the admin: its identity, its scopes, the caller's address.
  const identity = {
    [IDENTITY_HEADERS.userId]: graph.admin.id,
    [IDENTITY_HEADERS.role]: 'ADMIN',
    [IDENTITY_HEADERS.scopes]: scopesForRole('ADMIN').join(' '),
    [IDENTITY_HEADERS.clientIp]: '127.0.0.1',
  };
  return () => ({
    headers: {
      'content-type': 'application/json',
      ...identity,
      ...signRequest({
        secret: graph.identitySecret,
        audience: 'orders',
        userId: identity[IDENTITY_HEADERS.userId],
        role: identity[IDENTITY_HEADERS.role],
        scopes: identity[IDENTITY_HEADERS.scopes],
        clientIp: identity[IDENTITY_HEADERS.clientIp],
        body,
      }),
    },
    body,
  });
}

function verify(data: unknown, way: Way, first: number): string | undefined {
  const edges = at(data, 'orders', 'edges');
  if (!Array.isArray(edges) || edges.length !== first) return `not ${first} orders`;
  const owner = way === 'router-owners' ? 'username' : 'id';
  if (edges.some((edge) => typeof at(edge, 'node', 'user', owner) !== 'string'))
    return `an order without its owner's ${owner}`;
  return undefined;
}

async function run({ smoke, graph: getGraph }: ScenarioOptions): Promise<ScenarioReport> {
  const graph = await getGraph();
  const orders = await graph.countOrders();
  const rounds = smoke ? 1 : 3;
  const seconds = smoke ? 5 : 4;
  const smokeRequests = 20;
  const verifyEvery = smoke ? 1 : 20;
  const key = (way: Way, first: number) => `${way} ${first}`;
  const samples = new Map<string, GraphSample[]>();
  console.log(
    `scaling: ${rounds} round(s) of ${smoke ? `${smokeRequests} requests` : `${seconds} s`} per size and way, ${CONNECTIONS} connections`,
  );
  for (let round = 1; round <= rounds; round += 1) {
    for (const first of SIZES) {
      for (const way of WAYS) {
        const sample = await measureOnGraph(graph, round, way === 'direct' ? 'direct' : ROUTER, {
          url: way === 'direct' ? graph.ordersUrl : graph.routerNoDedupeUrl,
          connections: CONNECTIONS,
          seconds,
          ...(smoke ? { maxRequests: smokeRequests } : {}),
          request: requestFor(graph, way, first),
          check: (status, body, n) => {
            if (status !== 200) return 'not 200';
            if (body.includes('"errors"')) return 'errors';
            if (n % verifyEvery === 0) return verify(dataOf(body), way, first);
            return undefined;
          },
        });
        const list = samples.get(key(way, first)) ?? [];
        list.push(sample);
        samples.set(key(way, first), list);
        console.log(
          `  round ${round} first=${first} ${WAY_LABELS[way]}: ${sample.reqPerSec.toFixed(0)} req/s, ${sample.cpuMsPerRequest.all.toFixed(2)} CPU ms/req in all`,
        );
      }
    }
  }

  const rows = SIZES.flatMap((first) =>
    WAYS.map((way) => ({
      first,
      way,
      label: `first: ${first}, ${WAY_LABELS[way]}`,
      summary: summarise(samples.get(key(way, first)) ?? []),
    })),
  );
  const of = (way: Way, first: number) => samples.get(key(way, first)) ?? [];
  const ratios = SIZES.map((first) => {
    const router = of('router', first);
    const owners = of('router-owners', first);
    const direct = of('direct', first);
    const pick = (list: GraphSample[], figure: (s: GraphSample) => number) => list.map(figure);
    return {
      first,
      reqPerSec: ratioSpread(
        pick(router, (s) => s.reqPerSec),
        pick(direct, (s) => s.reqPerSec),
      ),
      p50Ms: ratioSpread(
        pick(router, (s) => s.p50Ms),
        pick(direct, (s) => s.p50Ms),
      ),
      p99Ms: ratioSpread(
        pick(router, (s) => s.p99Ms),
        pick(direct, (s) => s.p99Ms),
      ),
      cpuMsPerRequest: ratioSpread(
        pick(router, (s) => s.cpuMsPerRequest.all),
        pick(direct, (s) => s.cpuMsPerRequest.all),
      ),
      ownersCpuMsPerRequest: ratioSpread(
        pick(owners, (s) => s.cpuMsPerRequest.all),
        pick(direct, (s) => s.cpuMsPerRequest.all),
      ),
      // What the router itself spends per request, against what the subgraph spends direct.
      routerCpuShare: ratioSpread(
        pick(router, (s) => s.cpuMsPerRequest.router),
        pick(direct, (s) => s.cpuMsPerRequest.orders),
      ),
    };
  });
  const ratioTable = markdownTable(
    [
      'per-round ratio, router (orders only) over direct',
      'req/s',
      'p50 ms',
      'p99 ms',
      'CPU ms/req, all',
      'CPU ms/req, router with owners over direct',
      'router process CPU over orders process CPU direct',
    ],
    ratios.map((r) => [
      `first: ${r.first}`,
      show(r.reqPerSec, 2),
      show(r.p50Ms, 2),
      show(r.p99Ms, 2),
      show(r.cpuMsPerRequest, 2),
      show(r.ownersCpuMsPerRequest, 2),
      show(r.routerCpuShare, 2),
    ]),
  );
  return {
    markdown: [graphTable(rows), '', ratioTable].join('\n'),
    notes: [
      'the direct requests carry what the router sends for the admin (x-user-id, x-user-role, x-user-scopes, x-client-ip), signed anew for each request with signRequest (packages/identity).',
      "through the router with DEDUPLICATE_SUBGRAPH_QUERIES=false: every request is the admin's and alike, and would otherwise share subgraph requests with those in flight beside it.",
      `${orders} orders in the database: FerretDB's SQLite backend reads and sorts all of them for every list, whatever \`first\` says (its explain: no filter, sort or limit pushdown).`,
      'CPU ms/req "all" is the serving router (none for direct requests), users, orders and FerretDB; users is idle for direct requests and for "orders only" (its timers, the routers\' revocation refresh).',
    ],
    json: {
      scenario: 'scaling',
      rounds,
      seconds,
      connections: CONNECTIONS,
      sizes: SIZES,
      orders,
      queries: Object.fromEntries(WAYS.map((way) => [way, listQuery(way)])),
      samples: Object.fromEntries(samples),
      summary: Object.fromEntries(
        rows.map(({ way, first, summary }) => [key(way, first), summary]),
      ),
      ratios,
    },
    failures: [...samples].flatMap(([name, list]) => failuresOf(name, list)),
  };
}

export const scaling: Scenario = { name: 'scaling', title: 'scaling', run };
