/** What every scenario of `npm run bench` is given, and what it hands back to be printed and kept. */
import type { BenchGraph } from './graph.js';

export interface ScenarioOptions {
  /** A smoke run: very short, checks answers only, never speed. */
  readonly smoke: boolean;
  /**
   * The real graph (FerretDB, the compiled services, seeded data), started on first call and
   * shared by the scenarios that need it; scripts/bench/index.ts stops it at the end.
   */
  readonly graph: () => Promise<BenchGraph>;
}

export interface ScenarioReport {
  /** The tables, in markdown. */
  readonly markdown: string;
  /** Lines printed under the tables: what was configured apart, what was left out, and why. */
  readonly notes: readonly string[];
  /** Everything measured, for bench-results/<scenario>-<date>.json. */
  readonly json: Record<string, unknown>;
  /** Wrong answers, one line each; the run fails when there is any. */
  readonly failures: readonly string[];
}

export interface Scenario {
  /** What `--scenario` takes, and the results file's name. */
  readonly name: string;
  readonly title: string;
  run(options: ScenarioOptions): Promise<ScenarioReport>;
}
