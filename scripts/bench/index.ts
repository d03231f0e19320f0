/**
 * `npm run bench`: what a gateway costs per request, this router against stock Apollo Gateway of
 * the same version. In-memory subgraphs (the project's users and orders SDLs, fixed data) in one
 * process, each gateway in a process of its own, all on 127.0.0.1; autocannon loads one gateway
 * at a time, round after round, so that a noisy machine disturbs every gateway alike. Gateway CPU
 * per request comes from /proc/<pid>/stat, which holds up on a shared machine far better than
 * req/s does.
 *
 * `npm run bench -- --smoke`: one short round, for CI. It checks that every gateway answered every
 * request correctly and that the tables print; it asserts nothing about speed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import autocannon from 'autocannon';
import { parse } from 'graphql';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { prepareSupergraph } from '../../router/src/supergraph.js';
import {
  GATEWAY_KINDS,
  isGatewayReady,
  isSubgraphsReady,
  SUBGRAPH_NAMES,
  type GatewayKind,
} from './protocol.js';

const smoke = process.argv.includes('--smoke');
const ROUNDS = smoke ? 1 : 5;
const SECONDS_PER_GATEWAY = smoke ? 2 : 5;
const CONNECTIONS = 20;
/** In a full run every response is scanned for errors, and one in this many compared whole. */
const COMPARE_EVERY = smoke ? 1 : 50;
const STARTUP_TIMEOUT_MS = 60_000;

const ROOT = new URL('../../', import.meta.url).pathname;
const ISSUER = 'urn:bench:issuer';
const AUDIENCE = 'bench';

/**
 * Two hops, three subgraph requests: users for `me`, orders `_entities` for the user's orders,
 * users `_entities` again for each order's owner. Six deep, the router's default limit.
 */
const QUERY = /* GraphQL */ `
  query Bench {
    me {
      id
      username
      orders(first: 10) {
        edges {
          node {
            id
            item
            user {
              id
              username
            }
          }
        }
      }
    }
  }
`;
const BODY = JSON.stringify({ query: QUERY, operationName: 'Bench' });

const LABELS: Record<GatewayKind, string> = {
  router: 'this router, with a token',
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
}

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) the process has used, in milliseconds. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name, in parentheses, may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of proc(5); the first after the name is field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** The process's peak resident set size so far, in MiB. */
function peakRssMiB(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}

/** Starts a child process of the benchmark and waits for the message that says it is listening. */
function spawnChild<T>(
  args: string[],
  env: Record<string, string>,
  isReady: (message: unknown) => message is T,
): Promise<{ child: ChildProcess; ready: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    // Logs are not what is measured; stderr shows a crash.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      APOLLO_TELEMETRY_DISABLED: 'true',
      ...env,
    },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not start within ${STARTUP_TIMEOUT_MS} ms`));
    }, STARTUP_TIMEOUT_MS);
    child.once('message', (message) => {
      clearTimeout(timer);
      if (isReady(message)) resolve({ child, ready: message });
      else reject(new Error(`${args.join(' ')} sent ${JSON.stringify(message)}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code} before it was ready`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

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
  pid: number,
  url: string,
  headers: Record<string, string>,
  expected: string,
  countsUrl: string,
): Promise<Sample> {
  let responses = 0;
  let wrong = 0;
  const callsBefore = await subgraphCalls(countsUrl);
  const cpuBefore = cpuMs(pid);
  const started = performance.now();
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS_PER_GATEWAY,
    requests: [
      {
        method: 'POST',
        path: new URL(url).pathname,
        headers,
        body: BODY,
        onResponse: (status, body) => {
          responses += 1;
          if (status !== 200 || body.includes('"errors"')) wrong += 1;
          else if (responses % COMPARE_EVERY === 0 && dataOf(body) !== expected) wrong += 1;
        },
      },
    ],
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuMs(pid) - cpuBefore;
  // Requests still at the subgraphs when autocannon stopped land in the next window's count;
  // a few in thousands.
  const calls = (await subgraphCalls(countsUrl)) - callsBefore;
  wrong += result.errors + result.timeouts;
  return {
    round,
    requests: responses,
    reqPerSec: responses / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuMsPerRequest: cpu / Math.max(responses, 1),
    peakRssMiB: peakRssMiB(pid),
    subgraphCallsPerRequest: calls / Math.max(responses, 1),
    wrong,
  };
}

interface Spread {
  min: number;
  median: number;
  max: number;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] ?? 0)
      : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { min: sorted[0] ?? 0, median, max: sorted.at(-1) ?? 0 };
}

function show({ min, median, max }: Spread, digits: number): string {
  if (min === max) return median.toFixed(digits);
  return `${median.toFixed(digits)} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
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

function tables(samples: Record<GatewayKind, Sample[]>) {
  const summary = GATEWAY_KINDS.map((kind) => ({
    kind,
    metrics: Object.fromEntries(
      METRICS.map(({ key }) => [key, spread(samples[kind].map((s) => s[key]))]),
    ),
  }));
  // Round by round against stock's same round: the machine's load moves both alike.
  const ratios = GATEWAY_KINDS.filter((kind) => kind !== 'stock').map((kind) => ({
    kind,
    metrics: Object.fromEntries(
      RATIO_METRICS.map((key) => [
        key,
        spread(samples[kind].map((s, i) => s[key] / (samples.stock[i]?.[key] ?? Number.NaN))),
      ]),
    ),
  }));
  const lines = [
    `| gateway | ${METRICS.map((m) => m.title).join(' | ')} |`,
    `|---|${METRICS.map(() => '---:').join('|')}|`,
    ...summary.map(
      ({ kind, metrics }) =>
        `| ${LABELS[kind]} | ${METRICS.map(({ key, digits }) => show(metrics[key] ?? spread([]), digits)).join(' | ')} |`,
    ),
    '',
    `| per-round ratio vs stock | ${RATIO_METRICS.map((key) => METRICS.find((m) => m.key === key)?.title).join(' | ')} |`,
    `|---|${RATIO_METRICS.map(() => '---:').join('|')}|`,
    ...ratios.map(
      ({ kind, metrics }) =>
        `| ${LABELS[kind]} | ${RATIO_METRICS.map((key) => show(metrics[key] ?? spread([]), 2)).join(' | ')} |`,
    ),
  ];
  return {
    summary: Object.fromEntries(summary.map(({ kind, metrics }) => [kind, metrics])),
    ratios: Object.fromEntries(ratios.map(({ kind, metrics }) => [kind, metrics])),
    markdown: lines.join('\n'),
  };
}

async function main(): Promise<number> {
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
    const startGateway = async (kind: GatewayKind) => {
      const started = await spawnChild(
        [kind.startsWith('hive') ? 'scripts/bench/hive.ts' : 'scripts/bench/gateway.ts', kind],
        kind === 'router' ? routerEnv : env,
        isGatewayReady,
      );
      gatewayChildren.push(started.child);
      return { pid: started.child.pid ?? 0, url: started.ready.url };
    };
    const gateways: Record<GatewayKind, { pid: number; url: string }> = {
      router: await startGateway('router'),
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

    const samples: Record<GatewayKind, Sample[]> = {
      router: [],
      stock: [],
      'stock-jose': [],
      hive: [],
      'hive-no-dedupe': [],
    };
    console.log(
      `gateway overhead: ${ROUNDS} round(s) of ${SECONDS_PER_GATEWAY} s per gateway, ${CONNECTIONS} connections`,
    );
    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const kind of GATEWAY_KINDS) {
        const { pid, url } = gateways[kind];
        const sample = await measure(round, pid, url, headers, expected, subgraphs.ready.counts);
        samples[kind].push(sample);
        console.log(
          `  round ${round} ${LABELS[kind]}: ${sample.reqPerSec.toFixed(0)} req/s, ${sample.cpuMsPerRequest.toFixed(3)} CPU ms/req`,
        );
      }
    }

    const { summary, ratios, markdown } = tables(samples);
    console.log(`\n${markdown}\n`);
    for (const line of NOT_RUN) console.log(`not run: ${line}`);

    const resultsDir = join(ROOT, 'bench-results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(
      resultsDir,
      `gateway-overhead-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    );
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          scenario: 'gateway overhead',
          date: new Date().toISOString(),
          smoke,
          rounds: ROUNDS,
          secondsPerGateway: SECONDS_PER_GATEWAY,
          connections: CONNECTIONS,
          query: QUERY,
          notRun: NOT_RUN,
          samples,
          summary,
          ratios,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`results: ${file}`);

    const wrong = GATEWAY_KINDS.flatMap((kind) =>
      samples[kind]
        .filter((s) => s.wrong > 0 || s.requests === 0)
        .map((s) => `${LABELS[kind]} round ${s.round}: ${s.wrong} wrong of ${s.requests}`),
    );
    if (wrong.length > 0) {
      console.error(`wrong answers:\n${wrong.join('\n')}`);
      return 1;
    }
    return 0;
  } finally {
    // Gateways first: a subgraph that left before them would fail the requests still in flight
    // when the last measurement ended.
    await Promise.all(gatewayChildren.map(stopChild));
    if (subgraphsChild) await stopChild(subgraphsChild);
    jwksServer?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
