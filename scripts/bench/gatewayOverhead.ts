/**
 * The "gateway overhead" scenario: what a gateway costs per request, this router against stock
 * Apollo Gateway of the same version and Hive Gateway. In-memory subgraphs (the project's users
 * and orders SDLs, fixed data) in one process, each gateway in a process of its own, all on
 * 127.0.0.1; autocannon loads one gateway at a time, round after round, so that a noisy machine
 * disturbs every gateway alike.
 *
 * Both the router and Hive Gateway merge identical subgraph requests in flight by default, and
 * every client here sends the same query with the same token: each also runs with that off, so
 * that the per-request work of the two can be compared on its own.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { prepareSupergraph } from '../../router/src/supergraph.js';
import { ROOT, spawnChild, startFlagsOf, stopChild } from './children.js';
import { runLoad } from './load.js';
import { MY_ORDERS } from './queries.js';
import { cpuMs, peakRssMiB } from './procfs.js';
import {
  GATEWAY_KINDS,
  isGatewayReady,
  isSubgraphsReady,
  SUBGRAPH_NAMES,
  type GatewayKind,
} from './protocol.js';
import type { Scenario, ScenarioOptions, ScenarioReport } from './scenario.js';
import { markdownTable, ratioSpread, show, spread, type Spread } from './stats.js';

const CONNECTIONS = 20;
const ISSUER = 'urn:bench:issuer';
const AUDIENCE = 'bench';

const BODY = JSON.stringify({ query: MY_ORDERS, operationName: 'MyOrders' });

const LABELS: Record<GatewayKind, string> = {
  router: 'this router, with a token',
  'router-no-dedupe': 'this router, dedupe off',
  stock: 'stock Apollo Gateway',
  'stock-jose': 'stock Apollo Gateway + jose check',
  hive: 'Hive Gateway',
  'hive-no-dedupe': 'Hive Gateway, in-flight dedupe off',
};

/** What was left out, and why: printed with the tables so that nobody reads them as complete. */
const NOT_RUN = [
  'this router, anonymous: every root field of this graph needs a token (Query.me is @authenticated)',
];

interface Sample {
  round: number;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerRequest: number;
  peakRssMiB: number;
  subgraphCallsPerRequest: number;
  wrong: number;
  firstWrong: string | undefined;
}

const METRICS = [
  { key: 'reqPerSec', title: 'req/s', digits: 0 },
  { key: 'p50Ms', title: 'p50 ms', digits: 1 },
  { key: 'p99Ms', title: 'p99 ms', digits: 1 },
  { key: 'cpuMsPerRequest', title: 'CPU ms/req', digits: 3 },
  { key: 'peakRssMiB', title: 'peak RSS MiB', digits: 0 },
  { key: 'subgraphCallsPerRequest', title: 'subgraph calls/req', digits: 2 },
] as const;

const RATIO_METRICS = ['reqPerSec', 'p99Ms', 'cpuMsPerRequest', 'peakRssMiB'] as const;
type RatioMetric = (typeof RATIO_METRICS)[number];

/** The pairs compared apart from stock: each gateway against the other with the same dedupe. */
const PAIRS = [
  { kind: 'router', against: 'hive', label: 'this router vs Hive Gateway, both deduping' },
  {
    kind: 'router-no-dedupe',
    against: 'hive-no-dedupe',
    label: 'this router vs Hive Gateway, dedupe off on both',
  },
] as const satisfies readonly { kind: GatewayKind; against: GatewayKind; label: string }[];

/** What the router is meant to reach: a per-round ratio's median at or under `max`. */
const TARGETS = [
  {
    label: 'CPU ms/req, this router vs stock',
    kind: 'router',
    against: 'stock',
    metric: 'cpuMsPerRequest',
    max: 0.67,
  },
  {
    label: 'CPU ms/req, this router vs Hive Gateway, dedupe off on both',
    kind: 'router-no-dedupe',
    against: 'hive-no-dedupe',
    metric: 'cpuMsPerRequest',
    max: 1,
  },
  {
    label: 'CPU ms/req, this router vs Hive Gateway, both deduping',
    kind: 'router',
    against: 'hive',
    metric: 'cpuMsPerRequest',
    max: 1,
  },
  {
    label: 'peak RSS, this router vs stock',
    kind: 'router',
    against: 'stock',
    metric: 'peakRssMiB',
    max: 1,
  },
  { label: 'p99, this router vs stock', kind: 'router', against: 'stock', metric: 'p99Ms', max: 1 },
] as const satisfies readonly {
  label: string;
  kind: GatewayKind;
  against: GatewayKind;
  metric: RatioMetric;
  max: number;
}[];

function serveJwks(jwks: unknown): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = address !== null && typeof address !== 'string' ? address.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}/.well-known/jwks.json` });
    }),
  );
}

async function subgraphCalls(countsUrl: string): Promise<number> {
  const counts: unknown = await (await fetch(countsUrl)).json();
  if (typeof counts !== 'object' || counts === null) throw new Error('bad /counts answer');
  return Object.values(counts).reduce((sum: number, n: unknown) => sum + Number(n), 0);
}

function dataOf(body: string): string | undefined {
  const parsed: unknown = JSON.parse(body);
  if (typeof parsed !== 'object' || parsed === null || 'errors' in parsed) return undefined;
  return 'data' in parsed ? JSON.stringify(parsed.data) : undefined;
}

async function oneRequest(url: string, headers: Record<string, string>): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers, body: BODY });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${body}`);
  return body;
}

async function measure(
  round: number,
  { pid, url }: { pid: number; url: string },
  headers: Record<string, string>,
  expected: string,
  countsUrl: string,
  smoke: boolean,
): Promise<Sample> {
  // In a full run every response is scanned for errors, and one in this many compared whole.
  const compareEvery = smoke ? 1 : 50;
  const callsBefore = await subgraphCalls(countsUrl);
  const cpuBefore = cpuMs(pid);
  const load = await runLoad({
    url,
    connections: CONNECTIONS,
    seconds: smoke ? 2 : 5,
    request: { headers, body: BODY },
    check: (status, body, n) => {
      if (status !== 200) return 'not 200';
      if (body.includes('"errors"')) return 'errors';
      if (n % compareEvery === 0 && dataOf(body) !== expected) return 'other data than stock gave';
      return undefined;
    },
  });
  const cpu = cpuMs(pid) - cpuBefore;
  // Requests still at the subgraphs when autocannon stopped land in the next window's count;
  // a few in thousands.
  const calls = (await subgraphCalls(countsUrl)) - callsBefore;
  return {
    round,
    requests: load.responses,
    reqPerSec: load.reqPerSec,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    cpuMsPerRequest: cpu / Math.max(load.responses, 1),
    peakRssMiB: peakRssMiB(pid),
    subgraphCallsPerRequest: calls / Math.max(load.responses, 1),
    wrong: load.wrong,
    firstWrong: load.firstWrong,
  };
}

/** One value for each gateway, made by `make`. */
function byKind<T>(make: (kind: GatewayKind) => T): Record<GatewayKind, T> {
  return {
    router: make('router'),
    'router-no-dedupe': make('router-no-dedupe'),
    stock: make('stock'),
    'stock-jose': make('stock-jose'),
    hive: make('hive'),
    'hive-no-dedupe': make('hive-no-dedupe'),
  };
}

/** Round by round against the other's same round: the machine's load moves both alike. */
function ratioOf(
  samples: Record<GatewayKind, Sample[]>,
  kind: GatewayKind,
  against: GatewayKind,
): Record<string, Spread> {
  return Object.fromEntries(
    RATIO_METRICS.map((key) => [
      key,
      ratioSpread(
        samples[kind].map((s) => s[key]),
        samples[against].map((s) => s[key]),
      ),
    ]),
  );
}

function report(samples: Record<GatewayKind, Sample[]>, smoke: boolean) {
  const summary = byKind((kind): Record<string, Spread> =>
    Object.fromEntries(METRICS.map(({ key }) => [key, spread(samples[kind].map((s) => s[key]))])),
  );
  const vsStock = GATEWAY_KINDS.filter((kind) => kind !== 'stock').map((kind) => ({
    kind,
    ratios: ratioOf(samples, kind, 'stock'),
  }));
  const pairs = PAIRS.map((pair) => ({
    ...pair,
    ratios: ratioOf(samples, pair.kind, pair.against),
  }));
  const targets = TARGETS.map((target) => {
    const ratio = ratioOf(samples, target.kind, target.against)[target.metric] ?? spread([]);
    return { ...target, ratio, met: ratio.median <= target.max };
  });
  const ratioHeader = RATIO_METRICS.map((key) => METRICS.find((m) => m.key === key)?.title ?? key);
  const ratioCells = (ratios: Record<string, Spread>) =>
    RATIO_METRICS.map((key) => show(ratios[key] ?? spread([]), 2));
  const markdown = [
    markdownTable(
      ['gateway', ...METRICS.map((m) => m.title)],
      GATEWAY_KINDS.map((kind) => [
        LABELS[kind],
        ...METRICS.map(({ key, digits }) => show(summary[kind][key] ?? spread([]), digits)),
      ]),
    ),
    '',
    markdownTable(
      ['per-round ratio vs stock', ...ratioHeader],
      vsStock.map(({ kind, ratios }) => [LABELS[kind], ...ratioCells(ratios)]),
    ),
    '',
    markdownTable(
      ['per-round ratio', ...ratioHeader],
      pairs.map(({ label, ratios }) => [label, ...ratioCells(ratios)]),
    ),
    '',
    markdownTable(
      [
        'target (median of per-round ratios)',
        'ratio',
        'target',
        smoke ? 'met? (smoke: not a measurement)' : 'met?',
      ],
      targets.map(({ label, ratio, max, met }) => [
        label,
        show(ratio, 2),
        `≤ ${max}x`,
        met ? 'met' : 'not met',
      ]),
    ),
  ].join('\n');
  return {
    summary,
    vsStock: Object.fromEntries(vsStock.map(({ kind, ratios }) => [kind, ratios])),
    pairs,
    targets,
    markdown,
  };
}

async function run({ smoke }: ScenarioOptions): Promise<ScenarioReport> {
  const rounds = smoke ? 1 : 5;
  const work = mkdtempSync(join(tmpdir(), 'bench-'));
  const gatewayChildren: ChildProcess[] = [];
  let subgraphsChild: ChildProcess | undefined;
  let jwksServer: Server | undefined;
  try {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'EdDSA', use: 'sig' };
    const jwks = await serveJwks({ keys: [jwk] });
    jwksServer = jwks.server;
    const token = await new SignJWT({ role: 'USER' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'bench', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('000000000000000000000001')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);

    const subgraphs = await spawnChild(['scripts/bench/subgraphs.ts'], {}, isSubgraphsReady);
    subgraphsChild = subgraphs.child;
    const composed = composeServices(
      SUBGRAPH_NAMES.map((name) => ({
        name,
        url: subgraphs.ready[name],
        typeDefs: parse(readFileSync(join(ROOT, 'subgraphs', name, 'schema.graphql'), 'utf8')),
      })),
    );
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
    const supergraphPath = join(work, 'supergraph.graphql');
    writeFileSync(supergraphPath, composed.supergraphSdl);
    // Stock Apollo Gateway refuses a supergraph that links @authenticated, @requiresScopes or
    // @policy: it gets the copy the router hands its own gateway, without them.
    const stockSupergraphPath = join(work, 'supergraph-stock.graphql');
    writeFileSync(stockSupergraphPath, prepareSupergraph(composed.supergraphSdl).sdl);

    const env = {
      SUPERGRAPH_PATH: stockSupergraphPath,
      JWKS_URL: jwks.url,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    };
    const routerEnv = {
      ...env,
      SUPERGRAPH_PATH: supergraphPath,
      NODE_ENV: 'production',
      USERS_URL: subgraphs.ready.users,
      ORDERS_URL: subgraphs.ready.orders,
      IDENTITY_SIGNING_SECRET: randomBytes(32).toString('hex'),
      PERSISTED_DOCUMENTS_MODE: 'off',
      INTROSPECTION: 'false',
      REVOCATIONS_URL: 'off',
    };
    const envOf = (kind: GatewayKind): Record<string, string> => {
      if (kind === 'router') return routerEnv;
      if (kind === 'router-no-dedupe')
        return { ...routerEnv, DEDUPLICATE_SUBGRAPH_QUERIES: 'false' };
      return env;
    };
    const startGateway = async (kind: GatewayKind) => {
      const started = await spawnChild(
        [kind.startsWith('hive') ? 'scripts/bench/hive.ts' : 'scripts/bench/gateway.ts', kind],
        envOf(kind),
        isGatewayReady,
        kind.startsWith('router') ? startFlagsOf('router') : [],
      );
      gatewayChildren.push(started.child);
      return { pid: started.child.pid ?? 0, url: started.ready.url };
    };
    const gateways: Record<GatewayKind, { pid: number; url: string }> = {
      router: await startGateway('router'),
      'router-no-dedupe': await startGateway('router-no-dedupe'),
      stock: await startGateway('stock'),
      'stock-jose': await startGateway('stock-jose'),
      hive: await startGateway('hive'),
      'hive-no-dedupe': await startGateway('hive-no-dedupe'),
    };
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    };

    // Every gateway must give the same data for the query before anything is timed.
    const expected = dataOf(await oneRequest(gateways.stock.url, headers));
    if (expected === undefined) throw new Error('stock Apollo Gateway answered with errors');
    for (const kind of GATEWAY_KINDS) {
      const body = await oneRequest(gateways[kind].url, headers);
      if (dataOf(body) !== expected) throw new Error(`${LABELS[kind]} answered ${body}`);
    }

    const samples = byKind((): Sample[] => []);
    const seconds = smoke ? 2 : 5;
    console.log(
      `gateway overhead: ${rounds} round(s) of ${seconds} s per gateway, ${CONNECTIONS} connections`,
    );
    for (let round = 1; round <= rounds; round += 1) {
      for (const kind of GATEWAY_KINDS) {
        const sample = await measure(
          round,
          gateways[kind],
          headers,
          expected,
          subgraphs.ready.counts,
          smoke,
        );
        samples[kind].push(sample);
        console.log(
          `  round ${round} ${LABELS[kind]}: ${sample.reqPerSec.toFixed(0)} req/s, ${sample.cpuMsPerRequest.toFixed(3)} CPU ms/req`,
        );
      }
    }

    const { markdown, ...figures } = report(samples, smoke);
    return {
      markdown,
      notes: [
        ...NOT_RUN.map((line) => `not run: ${line}`),
        '"this router, dedupe off" is the router with DEDUPLICATE_SUBGRAPH_QUERIES=false; a router without that setting ignores it and runs as the default one.',
      ],
      json: {
        scenario: 'gateway overhead',
        rounds,
        secondsPerGateway: seconds,
        connections: CONNECTIONS,
        query: MY_ORDERS,
        notRun: NOT_RUN,
        samples,
        ...figures,
      },
      failures: GATEWAY_KINDS.flatMap((kind) =>
        samples[kind]
          .filter((s) => s.wrong > 0 || s.requests === 0)
          .map(
            (s) =>
              `${LABELS[kind]} round ${s.round}: ${s.wrong} wrong of ${s.requests}${s.firstWrong ? ` (${s.firstWrong})` : ''}`,
          ),
      ),
    };
  } finally {
    // Gateways first: a subgraph that left before them would fail the requests still in flight
    // when the last measurement ended.
    await Promise.all(gatewayChildren.map(stopChild));
    if (subgraphsChild) await stopChild(subgraphsChild);
    jwksServer?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export const gatewayOverhead: Scenario = {
  name: 'gateway-overhead',
  title: 'gateway overhead',
  run,
};
