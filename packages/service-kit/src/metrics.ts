import { createServer, type Server } from 'node:http';
import type { MongoClient } from 'mongodb';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { listenOn } from './httpServer.js';

export { Counter, Gauge, Histogram, Registry };

/** Where Prometheus scrapes every service, on the metrics port (METRICS_PORT) only. */
export const METRICS_PATH = '/metrics';

/**
 * Latency buckets, in seconds, for requests and subgraph fetches: from a cached answer (5 ms) to
 * the router's default subgraph timeout (5 s) and beyond it.
 */
export const REQUEST_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** MongoDB commands are quicker than requests: from a sub-millisecond find to the 2 s timeout. */
const COMMAND_DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
] as const;

/**
 * A registry of a service's own, with Node's default process metrics (CPU, memory, event loop
 * lag, GC, handles) collected into it. Never prom-client's global registry: the tests run three
 * services, and sometimes replicas of them, in one process, and each must count only its own.
 */
export function createMetricsRegistry(): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register });
  return register;
}

export interface RunningMetricsServer {
  readonly port: number;
  /** The scrape URL, e.g. http://127.0.0.1:9090/metrics. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `registry` as Prometheus text at `/metrics` on a port of its own (METRICS_PORT), never
 * on the GraphQL port: that one is public, and the metrics say what the graph is doing, who is
 * refused and how often. Only GET and HEAD of `/metrics` are answered; anything else gets 404.
 */
export async function serveMetrics(
  registry: Registry,
  { host, port }: { host: string; port: number },
): Promise<RunningMetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const method = req.method ?? 'GET';
    if (path !== METRICS_PATH || (method !== 'GET' && method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Nothing is served here; Prometheus metrics are at ${METRICS_PATH}.\n`);
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        res.end(method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`The metrics could not be collected: ${String(error)}\n`);
      },
    );
  });
  // Scrapers keep connections alive; they must not hold the process open after a shutdown.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  const address = await listenOn(server, port, host);
  let closed: Promise<void> | undefined;
  return {
    port: address.port,
    url: `http://${address.displayHost}:${address.port}${METRICS_PATH}`,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/**
 * Counts a subgraph's MongoDB work into `registry`: the latency of each command, by command
 * name and outcome, from the driver's command monitoring, and the connections of its pool, from
 * the connection pool (CMAP) events. The client must be created with `monitorCommands: true`
 * (`createMongoClient` does so when given `metrics`).
 */
export function instrumentMongoClient(
  client: MongoClient,
  { registry, service }: { registry: Registry; service: string },
): void {
  const commands = new Histogram({
    name: 'supergraph_mongodb_command_duration_seconds',
    help: 'MongoDB commands a service sent, by command name and outcome (success or error), and how long they took.',
    labelNames: ['service', 'command', 'outcome'] as const,
    buckets: [...COMMAND_DURATION_BUCKETS],
    registers: [registry],
  });
  const pool = new Gauge({
    name: 'supergraph_mongodb_pool_connections',
    help: "Connections in a service's MongoDB pool: checked_out (in use by an operation) and total (open).",
    labelNames: ['service', 'state'] as const,
    registers: [registry],
  });
  pool.set({ service, state: 'checked_out' }, 0);
  pool.set({ service, state: 'total' }, 0);

  // A finished event carries the command's name and how long the driver measured it took.
  const finish =
    (outcome: 'success' | 'error') =>
    ({ commandName, duration }: { commandName: string; duration: number }) =>
      commands.observe({ service, command: commandName, outcome }, duration / 1000);
  client.on('commandSucceeded', finish('success'));
  client.on('commandFailed', finish('error'));

  client.on('connectionCreated', () => pool.inc({ service, state: 'total' }));
  client.on('connectionClosed', () => pool.dec({ service, state: 'total' }));
  client.on('connectionCheckedOut', () => pool.inc({ service, state: 'checked_out' }));
  client.on('connectionCheckedIn', () => pool.dec({ service, state: 'checked_out' }));
}
