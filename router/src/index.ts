import { createLogger, runService } from '@supergraph/service-kit';
import { loadRouterConfig } from './config.js';
import { createRouter } from './server.js';

await runService(async (runtime) => {
  const config = loadRouterConfig();
  const logger = createLogger('router', config.logLevel);
  const router = await createRouter({ config, logger });
  const server = await runtime.listen(router.listener, {
    host: config.host,
    port: config.port,
    readiness: router.readiness,
  });
  logger.info(`router ready at ${server.url}`, { sandbox: !config.production });
  return { logger, shutdownGraceMs: config.shutdownGraceMs, stop: () => router.stop() };
});
