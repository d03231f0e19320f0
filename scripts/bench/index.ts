/**
 * `npm run bench`: what this graph costs per request, in three scenarios, each printed as
 * markdown tables and kept as JSON in bench-results/:
 *
 * - `gateway-overhead` (scripts/bench/gatewayOverhead.ts): this router against stock Apollo
 *   Gateway and Hive Gateway, on in-memory subgraphs;
 * - `real-graph` (scripts/bench/realGraph.ts): four client operations through the router to the
 *   compiled subgraphs on FerretDB, with every process's CPU time and the MongoDB commands;
 * - `scaling` (scripts/bench/scaling.ts): the admin's orders list from 1 to 100 orders, through
 *   the router and straight to the orders subgraph.
 *
 * Everything runs on 127.0.0.1, one process per service, loaded in turn by autocannon in rounds
 * so that a noisy machine disturbs each alike; CPU time comes from /proc/<pid>/stat.
 *
 * `npm run bench -- --scenario <name>` runs one scenario only (each further `--scenario` adds
 * one). `npm run bench -- --smoke` runs every scenario very short, for CI: it checks that every
 * answer was right and that the tables print; it asserts nothing about speed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './children.js';
import { gatewayOverhead } from './gatewayOverhead.js';
import { startGraph, type BenchGraph } from './graph.js';
import { realGraph } from './realGraph.js';
import { scaling } from './scaling.js';
import type { Scenario } from './scenario.js';

const SCENARIOS: readonly Scenario[] = [gatewayOverhead, realGraph, scaling];
const USAGE = `usage: npm run bench -- [--smoke] [--scenario <${SCENARIOS.map((s) => s.name).join('|')}>]...`;

function parseArguments(args: readonly string[]): {
  smoke: boolean;
  scenarios: readonly Scenario[];
} {
  let smoke = false;
  const names: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '--smoke') smoke = true;
    else if (arg === '--scenario') {
      names.push(args[i + 1] ?? '');
      i += 1;
    } else if (arg.startsWith('--scenario=')) names.push(arg.slice('--scenario='.length));
    else throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  for (const name of names) {
    if (!SCENARIOS.some((s) => s.name === name))
      throw new Error(`unknown scenario ${JSON.stringify(name)}\n${USAGE}`);
  }
  // In their usual order, whatever the order of the flags.
  const scenarios = SCENARIOS.filter((s) => names.length === 0 || names.includes(s.name));
  return { smoke, scenarios };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseArguments>;
  try {
    parsed = parseArguments(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const { smoke, scenarios } = parsed;
  const runStarted = performance.now();
  let graph: Promise<BenchGraph> | undefined;
  const getGraph = () =>
    (graph ??= startGraph(
      // The scaling scenario reads up to 100 orders: a smoke run seeds a few more than that.
      smoke ? { users: 5, ordersPerUser: 21 } : { users: 20, ordersPerUser: 10 },
      (line) => console.log(line),
    ));
  const resultsDir = join(ROOT, 'bench-results');
  const failures: string[] = [];
  try {
    for (const scenario of scenarios) {
      const started = performance.now();
      const report = await scenario.run({ smoke, graph: getGraph });
      const seconds = (performance.now() - started) / 1000;
      console.log(`\n## ${scenario.title}${smoke ? ' (smoke)' : ''}\n\n${report.markdown}\n`);
      for (const note of report.notes) console.log(`- ${note}`);
      mkdirSync(resultsDir, { recursive: true });
      const date = new Date().toISOString();
      const file = join(resultsDir, `${scenario.name}-${date.replace(/[:.]/g, '-')}.json`);
      writeFileSync(
        file,
        `${JSON.stringify({ date, smoke, durationSeconds: seconds, ...report.json }, null, 2)}\n`,
      );
      console.log(`results: ${file} (${seconds.toFixed(0)} s)\n`);
      failures.push(...report.failures);
    }
    if (failures.length > 0) {
      console.error(`wrong answers:\n${failures.join('\n')}`);
      if (graph) console.error(`the services' logs, last lines:\n${(await graph).logs()}`);
      return 1;
    }
    console.log(`bench: done in ${((performance.now() - runStarted) / 1000).toFixed(0)} s`);
    return 0;
  } finally {
    if (graph) await (await graph.catch(() => undefined))?.stop();
  }
}

process.exitCode = await main();
