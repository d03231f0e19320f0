import {
  createLogger,
  createMongoClient,
  mongoReadiness,
  retryUntilDone,
  runService,
} from '@supergraph/service-kit';
import { loadOrdersConfig } from './config.js';
import { createOrdersSubgraph } from './server.js';

await runService(async (runtime) => {
  const config = loadOrdersConfig();
  const logger = createLogger('orders', config.logLevel);
  // Listening first: while MongoDB is not there yet, probes hear "not ready", not silence.
  const server = await runtime.listen(undefined, { host: config.host, port: config.port });
  const client = createMongoClient(config.mongodbUri, {
    appName: 'orders',
    timeoutMs: config.mongodbTimeoutMs,
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
    stop: async () => {
      await subgraph.stop();
      await client.close();
    },
  };
});
