import {
  createLogger,
  createMetricsRegistry,
  createMongoClient,
  mongoReadiness,
  retryUntilDone,
  runService,
  serveMetrics,
  startTracing,
} from '@supergraph/service-kit';
import { loadOrdersConfig } from './config.js';
import { createOrdersSubgraph } from './server.js';

await runService(async (runtime) => {
  // First, so that the first request is already traced when tracing is on.
  const tracing = startTracing({ service: 'orders', env: process.env });
  const config = loadOrdersConfig();
  const logger = createLogger('orders', config.logLevel);
  // Listening first: while MongoDB is not there yet, probes hear "not ready", not silence.
  const server = await runtime.listen(undefined, { host: config.host, port: config.port });
  const registry = createMetricsRegistry();
  // On a port of its own, never the public one; only where METRICS_PORT says.
  const metrics =
    config.metricsPort === undefined
      ? undefined
      : await serveMetrics(registry, { host: config.host, port: config.metricsPort });
  if (metrics) logger.info(`orders metrics at ${metrics.url}`);
  const client = createMongoClient(config.mongodbUri, {
    appName: 'orders',
    timeoutMs: config.mongodbTimeoutMs,
    metrics: { registry, service: 'orders' },
    traceCommands: tracing.enabled,
  });
  const subgraph = await retryUntilDone(
    'connecting to MongoDB',
    async () => {
      await client.connect();
      return createOrdersSubgraph({ config, db: client.db(config.database), logger });
    },
    { logger, signal: runtime.signal },
  );
  server.serve(subgraph.listener, mongoReadiness(client));
  logger.info(`orders subgraph ready at ${server.url}`);

  return {
    logger,
    shutdownGraceMs: config.shutdownGraceMs,
    shutdownDelayMs: config.shutdownDelayMs,
    stop: async () => {
      await subgraph.stop();
      await client.close();
      await metrics?.close();
      await tracing.shutdown();
    },
  };
});
