export {
  applyAuthorization,
  type ApplyAuthorizationOptions,
  type AuthorizationContext,
  type Policy,
  type PolicyInput,
} from './authorization.js';
export { createIdentityGate, type IdentityGateOptions, type VerifiedRequest } from './gate.js';
export {
  createRequestIdStore,
  type RequestIdStore,
  type RequestIdStoreOptions,
  type SignedRequestIdDocument,
} from './requestIds.js';
export {
  MAX_PAGE_SIZE,
  pageSize,
  encodeCursor,
  decodeCursor,
  toConnection,
  type Connection,
} from './pagination.js';
export { createSubgraphServer, type SubgraphServer, type SubgraphServerOptions } from './server.js';
export { DateTimeScalar } from './scalars.js';
export { createByIdLoader, referenceId } from './loaders.js';
export { adminPolicy } from './policies.js';
export { subgraphEnv, subgraphSettings, type SubgraphSettings } from './config.js';
