import { createLogger, listen, runService } from '@supergraph/service-kit';
import { loadRouterConfig } from './config.js';
import { createRouter } from './server.js';

await runService(async () => {
  const config = loadRouterConfig();
  const logger = createLogger('router', config.logLevel);
  const router = await createRouter({ config, logger });
  const server = await listen(router.listener, { host: config.host, port: config.port });
  logger.info(`router ready at ${server.url}`, { sandbox: !config.production });
  return {
    logger,
    stop: async () => {
      await server.close();
      await router.stop();
    },
  };
});
