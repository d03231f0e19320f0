export {
  createLogger,
  describeError,
  LOG_LEVELS,
  REDACTED_FIELDS,
  type Logger,
  type LoggerOptions,
  type LogLevel,
} from './logger.js';
export {
  currentRequestContext,
  isRequestId,
  REQUEST_ID_HEADER,
  requestIdOf,
  setRequestUserId,
  withRequestContext,
  type RequestContext,
} from './requestContext.js';
export {
  ErrorCode,
  HttpError,
  badUserInput,
  forbidden,
  unauthenticated,
  createFormatError,
} from './errors.js';
export {
  createGraphQLRequestListener,
  type GraphQLRequestListenerOptions,
  type RawRequest,
  type RouteHandler,
  type RouteResponse,
} from './http.js';
export {
  listen,
  type ListenOptions,
  type Readiness,
  type ReadinessCheck,
  type RequestListener,
  type RunningHttpServer,
} from './httpServer.js';
export {
  ConfigError,
  parseEnv,
  nodeEnv,
  logLevel,
  port,
  positiveInt,
  httpUrl,
  serviceEnv,
  serviceSettings,
  identitySigningSecret,
} from './config.js';
export { mapAtMost } from './atMost.js';
export {
  createMongoClient,
  deleteInBatches,
  ensureIndexes,
  SWEEP_BATCH_SIZE,
  isDatabaseUnavailable,
  mongoReadiness,
  isDuplicateKeyError,
  parseObjectId,
  isObjectIdHex,
} from './mongo.js';
export {
  Counter,
  Gauge,
  Histogram,
  Registry,
  createMetricsRegistry,
  instrumentMongoClient,
  METRICS_PATH,
  REQUEST_DURATION_BUCKETS,
  serveMetrics,
  type RunningMetricsServer,
} from './metrics.js';
export {
  retryUntilDone,
  runService,
  type RunningService,
  type ServiceRuntime,
} from './lifecycle.js';
export {
  createTracingPlugin,
  injectTraceContext,
  startTracing,
  traceMongoCommands,
  traceRequests,
  type TraceRequestsOptions,
  type Tracing,
  type TracingOptions,
} from './tracing.js';
