export {
  ADMIN_SCOPE,
  ROLES,
  isAdmin,
  isRole,
  scopesForRole,
  createIdentity,
  parseScopes,
  type Identity,
  type Role,
} from './identity.js';
export {
  IDENTITY_HEADERS,
  DEFAULT_MAX_SKEW_SECONDS,
  MIN_SECRET_LENGTH,
  signRequest,
  verifyRequest,
  type SignRequestInput,
  type VerifyRequestInput,
  type VerifyResult,
} from './signature.js';
export {
  meetsRequirement,
  readCallerRequirement,
  readStringGroups,
  type CallerRequirement,
  type RequirementDirectiveNames,
} from './access.js';
export {
  REVOCATIONS_AUDIENCE,
  REVOCATIONS_PATH,
  createRevocationCopy,
  indexRevocations,
  parseRevocationList,
  REVOCATIONS_PAGE_SIZE,
  type RevocableToken,
  type RevocationCopy,
  type RevocationRecord,
  type RevocationIndex,
  type RevocationList,
  type SessionRevocation,
} from './revocations.js';
