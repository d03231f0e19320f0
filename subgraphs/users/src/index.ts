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
import { loadSigningKeys } from './auth/keys.js';
import { loadUsersConfig } from './config.js';
import { seedUsers } from './db/seed.js';
import { createUsersSubgraph } from './server.js';

await runService(async (runtime) => {
  // First, so that the first request is already traced when tracing is on.
  const tracing = startTracing({ service: 'users', env: process.env });
  const config = loadUsersConfig();
  const logger = createLogger('users', config.logLevel);
  // The keys before the database, so that a bad JWT_PRIVATE_KEY is reported as the config error it is.
  const keys = await loadSigningKeys({
    alg: config.jwt.alg,
    privateKeyPem: config.jwt.privateKeyPem,
    previousPublicKeyPem: config.jwt.previousPublicKeyPem,
    dataDir: config.dataDir,
  });
  // Listening first: while MongoDB is not there yet, probes hear "not ready", not silence.
  const server = await runtime.listen(undefined, { host: config.host, port: config.port });
  const registry = createMetricsRegistry();
  // On a port of its own, never the public one; only where METRICS_PORT says.
  const metrics =
    config.metricsPort === undefined
      ? undefined
      : await serveMetrics(registry, { host: config.host, port: config.metricsPort });
  if (metrics) logger.info(`users metrics at ${metrics.url}`);
  const client = createMongoClient(config.mongodbUri, {
    appName: 'users',
    timeoutMs: config.mongodbTimeoutMs,
    metrics: { registry, service: 'users' },
    traceCommands: tracing.enabled,
  });
  const db = client.db(config.database);
  const subgraph = await retryUntilDone(
    'connecting to MongoDB',
    async () => {
      await client.connect();
      const built = await createUsersSubgraph({
        config,
        db,
        signingKey: keys.current,
        previousKeys: keys.previous,
        logger,
        registry,
      });
      await seedUsers(db, built.repository, config.seeds, built.passwords, logger);
      return built;
    },
    { logger, signal: runtime.signal },
  );
  server.serve(subgraph.listener, mongoReadiness(client));
  logger.info(`users subgraph ready at ${server.url}`, {
    kid: keys.current.kid,
    previousKids: keys.previous.map((key) => key.kid),
  });

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
