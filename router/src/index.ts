import { createLogger, runService, serveMetrics } from '@supergraph/service-kit';
import { loadRouterConfig } from './config.js';
import { createRouter } from './server.js';
import { startRouterTracing } from './tracing.js';

await runService(async (runtime) => {
  // First, so that the router's first request is already traced when tracing is on.
  const tracing = startRouterTracing(process.env);
  const config = loadRouterConfig();
  const logger = createLogger('router', config.logLevel);
  const router = await createRouter({ config, logger });
  const server = await runtime.listen(router.listener, {
    host: config.host,
    port: config.port,
    readiness: router.readiness,
  });
  // On a port of its own, never the public one; only where METRICS_PORT says.
  const metrics =
    config.metricsPort === undefined
      ? undefined
      : await serveMetrics(router.registry, { host: config.host, port: config.metricsPort });
  if (metrics) logger.info(`router metrics at ${metrics.url}`);
  logger.info(`router ready at ${server.url}`, { sandbox: !config.production });
  return {
    logger,
    shutdownGraceMs: config.shutdownGraceMs,
    shutdownDelayMs: config.shutdownDelayMs,
    stop: async () => {
      await router.stop();
      await metrics?.close();
      await tracing.shutdown();
    },
  };
});
