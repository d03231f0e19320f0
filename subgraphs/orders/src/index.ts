import { createLogger, createMongoClient, listen, runService } from '@supergraph/service-kit';
import { loadOrdersConfig } from './config.js';
import { createOrdersSubgraph } from './server.js';

await runService(async () => {
  const config = loadOrdersConfig();
  const logger = createLogger('orders', config.logLevel);
  const client = createMongoClient(config.mongodbUri, { appName: 'orders' });
  await client.connect();

  const subgraph = await createOrdersSubgraph({ config, db: client.db(config.database), logger });
  const server = await listen(subgraph.listener, { host: config.host, port: config.port });
  logger.info(`orders subgraph ready at ${server.url}`);

  return {
    logger,
    stop: async () => {
      await server.close();
      await subgraph.stop();
      await client.close();
    },
  };
});
