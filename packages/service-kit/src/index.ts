export { createLogger, describeError, LOG_LEVELS, type Logger, type LogLevel } from './logger.js';
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
export {
  createMongoClient,
  ensureIndexes,
  isDatabaseUnavailable,
  mongoReadiness,
  isDuplicateKeyError,
  parseObjectId,
  isObjectIdHex,
} from './mongo.js';
export {
  retryUntilDone,
  runService,
  type RunningService,
  type ServiceRuntime,
} from './lifecycle.js';
