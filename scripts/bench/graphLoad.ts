/**
 * One measurement on the real graph (scripts/bench/graph.ts): a bounded load, with the graph's
 * counters read before and after it, turned into figures per request: each process's CPU time,
 * the subgraphs' MongoDB commands, the router's subgraph fetches.
 */
import type { BenchGraph, RouterName, Snapshot } from './graph.js';
import { runLoad, type LoadOptions } from './load.js';
import { markdownTable, show, spread, type Spread } from './stats.js';

export interface GraphSample {
  readonly round: number;
  /** Answers received. */
  readonly requests: number;
  /** Requests sent: the answers and those in flight when the load stopped. */
  readonly sent: number;
  readonly wrong: number;
  readonly firstWrong: string | undefined;
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /**
   * CPU ms per request of each process, and of all four together: `router` is the router that
   * served the requests (NaN for requests sent straight to a subgraph).
   */
  readonly cpuMsPerRequest: Readonly<Record<Column, number>>;
  /** MongoDB commands per request, both subgraphs together. */
  readonly commandsPerRequest: number;
  /** MongoDB commands per request by `<service> <command>`. */
  readonly commandsByName: Readonly<Record<string, number>>;
  /**
   * Fetches per request in the router's query plans, by the router's own count
   * (`supergraph_router_subgraph_fetches_total`): a fetch that shares an identical one's
   * subgraph request counts too. NaN for requests sent straight to a subgraph.
   */
  readonly fetchesPerRequest: number;
}

const COLUMNS = ['router', 'users', 'orders', 'ferretdb', 'all'] as const;
type Column = (typeof COLUMNS)[number];

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/**
 * Runs one load on the graph and reads what it cost. `via` is the router the load goes through,
 * or `direct` for a load sent straight to a subgraph.
 */
export async function measureOnGraph(
  graph: BenchGraph,
  round: number,
  via: RouterName | 'direct',
  load: LoadOptions,
): Promise<GraphSample> {
  // Before: nothing of the last load still running. After: the work of this load's requests
  // still in flight when it stopped is done, and counted here.
  await graph.waitIdle();
  const before = await graph.snapshot();
  const result = await runLoad(load);
  await graph.waitIdle();
  const after = await graph.snapshot();
  // Per request sent: the graph is idle again, so the work of those in flight at the end is done.
  const per = (value: number) => value / Math.max(result.sent, 1);
  const cpu = (name: keyof Snapshot['cpuMs']) => per(after.cpuMs[name] - before.cpuMs[name]);
  const commands = [...after.commands]
    .map(([key, value]) => [key, value - (before.commands.get(key) ?? 0)] as const)
    .filter(([, n]) => n > 0);
  const router = via === 'direct' ? Number.NaN : cpu(via);
  const subgraphs = cpu('users') + cpu('orders') + cpu('ferretdb');
  const cpuMsPerRequest = {
    router,
    users: cpu('users'),
    orders: cpu('orders'),
    ferretdb: cpu('ferretdb'),
    all: via === 'direct' ? subgraphs : router + subgraphs,
  };
  return {
    round,
    requests: result.responses,
    sent: result.sent,
    wrong: result.wrong,
    firstWrong: result.firstWrong,
    reqPerSec: result.reqPerSec,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    cpuMsPerRequest,
    commandsPerRequest: per(sum(commands.map(([, n]) => n))),
    commandsByName: Object.fromEntries(
      commands.sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => [key, per(n)]),
    ),
    fetchesPerRequest:
      via === 'direct' ? Number.NaN : per(after.fetches[via] - before.fetches[via]),
  };
}

/** The figures of a series of rounds, each as a spread over the rounds. */
export function summarise(samples: readonly GraphSample[]) {
  const of = (pick: (sample: GraphSample) => number) => spread(samples.map(pick));
  const names = [...new Set(samples.flatMap((s) => Object.keys(s.commandsByName)))].sort();
  return {
    reqPerSec: of((s) => s.reqPerSec),
    p50Ms: of((s) => s.p50Ms),
    p99Ms: of((s) => s.p99Ms),
    cpuMsPerRequest: Object.fromEntries(
      COLUMNS.map((name) => [name, of((s) => s.cpuMsPerRequest[name])]),
    ),
    commandsPerRequest: of((s) => s.commandsPerRequest),
    commandsByName: Object.fromEntries(
      names.map((name) => [name, of((s) => s.commandsByName[name] ?? 0)]),
    ),
    fetchesPerRequest: of((s) => s.fetchesPerRequest),
    wrong: samples.reduce((total, s) => total + s.wrong, 0),
    answers: samples.reduce((total, s) => total + s.requests, 0),
  };
}

export type GraphSummary = ReturnType<typeof summarise>;

const CPU_TITLES: Record<Column, string> = {
  router: 'CPU ms/req router',
  users: 'users',
  orders: 'orders',
  ferretdb: 'FerretDB',
  all: 'all',
};

/** The main table of a graph scenario: one row per thing measured. */
export function graphTable(rows: readonly { label: string; summary: GraphSummary }[]): string {
  const cell = (value: Spread | undefined, digits: number) => show(value ?? spread([]), digits);
  return markdownTable(
    [
      '',
      'req/s',
      'p50 ms',
      'p99 ms',
      ...COLUMNS.map((name) => CPU_TITLES[name]),
      'MongoDB cmds/req',
      'subgraph fetches/req',
      'wrong answers',
    ],
    rows.map(({ label, summary }) => [
      label,
      cell(summary.reqPerSec, 0),
      cell(summary.p50Ms, 1),
      cell(summary.p99Ms, 1),
      ...COLUMNS.map((name) => cell(summary.cpuMsPerRequest[name], 3)),
      cell(summary.commandsPerRequest, 2),
      cell(summary.fetchesPerRequest, 2),
      summary.wrong === 0 ? '0' : `${summary.wrong} of ${summary.answers}`,
    ]),
  );
}

/** Which MongoDB commands each row's requests sent, per request (medians over the rounds). */
export function commandsTable(rows: readonly { label: string; summary: GraphSummary }[]): string {
  return markdownTable(
    ['MongoDB commands per request', 'by service and command (median)'],
    rows.map(({ label, summary }) => [
      label,
      Object.entries(summary.commandsByName)
        .filter(([, n]) => n.median >= 0.005)
        .map(([name, n]) => `${name} ${n.median.toFixed(2)}`)
        .join(', ') || 'none',
    ]),
  );
}

/** A failure line for each round that had a wrong answer, or none. */
export function failuresOf(label: string, samples: readonly GraphSample[]): string[] {
  return samples
    .filter((s) => s.wrong > 0 || s.requests === 0)
    .map(
      (s) =>
        `${label} round ${s.round}: ${s.wrong} wrong of ${s.requests}${s.firstWrong ? ` (${s.firstWrong})` : ''}`,
    );
}
