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
  listen,
  type GraphQLRequestListenerOptions,
  type RawRequest,
  type RouteHandler,
  type RouteResponse,
  type RunningHttpServer,
} from './http.js';
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
  isDuplicateKeyError,
  parseObjectId,
  isObjectIdHex,
} from './mongo.js';
export { runService } from './lifecycle.js';
