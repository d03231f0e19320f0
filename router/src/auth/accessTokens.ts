import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
} from 'jose';
import {
  createIdentity,
  isRole,
  parseScopes,
  type Identity,
  type Role,
} from '@supergraph/identity';
import { ErrorCode, HttpError, describeError, type Logger } from '@supergraph/service-kit';
import type { RouterConfig } from '../config.js';
import type { TokenRefusalReason } from '../metrics.js';
import type { RevocationCheck } from './revocations.js';

/**
 * jose errors that mean "this token is no good", as opposed to "we could not check it" (the JWKS
 * endpoint is down). The first get 401, the second 503, so a client never logs a user out
 * because a key server hiccupped.
 */
const TOKEN_FAULTS = new Set<string>([
  errors.JWTExpired.code,
  errors.JWTClaimValidationFailed.code,
  errors.JWTInvalid.code,
  errors.JWSInvalid.code,
  errors.JWSSignatureVerificationFailed.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
]);

/** What a verified access token says, as far as the router uses it. */
/** A key as the remote key set hands it out (an imported key, the same object while it holds). */
type SigningKey = Awaited<ReturnType<ReturnType<typeof createRemoteJWKSet>>>;

interface VerifiedClaims {
  readonly key: SigningKey;
  readonly header: JWSHeaderParameters;
  readonly subject: string;
  readonly role: Role;
  readonly scopes: readonly string[];
  readonly sid: string | undefined;
  readonly gen: number | undefined;
  readonly exp: number;
  readonly iat: number;
}

/** At most this many verified tokens are remembered (about 1 KiB each). */
const MAX_CACHED_TOKENS = 10_000;

export interface VerifyAuthorization {
  (authorizationHeader: string | undefined): Promise<Identity | null>;
  /**
   * For readiness: true once the router holds the token signing keys (and, when revocations are
   * checked, the revocation list), else what is missing. Fetches what it lacks.
   */
  ready(): Promise<Readonly<Record<string, true | string>>>;
}

export interface AccessTokenVerifierOptions {
  jwt: RouterConfig['jwt'];
  /** Asked about every token that passes the other checks; absent when nothing is revoked. */
  isRevoked?: RevocationCheck | undefined;
  logger: Logger;
  /** Told of every token refused, and why (the router's `supergraph_router_token_refusals_total`). */
  onRefused?: (reason: TokenRefusalReason) => void;
}

/**
 * Turns the `Authorization` header into the caller's identity. This is where the router checks
 * who is calling; everything downstream trusts only what this returns.
 *
 * - No header: anonymous (null).
 * - A header that is not a well-formed Bearer token, or a token that fails any check: HTTP 401
 *   UNAUTHENTICATED. A bad token is never quietly downgraded to anonymous (issue #2), because a
 *   client that sent one believes it is logged in.
 *
 * The checks follow RFC 8725: algorithms pinned (never `none`, never a symmetric algorithm),
 * `iss`, `aud`, `exp`, `iat` and `sub` required, and the `typ` header checked so that no other
 * kind of JWT signed by the same key passes as an access token.
 */
export function createAccessTokenVerifier({
  jwt,
  isRevoked,
  logger,
  onRefused = () => {},
}: AccessTokenVerifierOptions): VerifyAuthorization {
  // Cached, and refetched when a token names an unknown `kid`: that is how key rotation works.
  // jose refetches for an unknown kid only once `cooldownDuration` (30 s by default) has passed
  // since the last fetch, so that tokens with made-up kids cannot make us hammer the key server.
  // Right after a rotation that is up to 30 s in which tokens signed with the brand-new key get
  // 401, unless the new key was published ahead (README, "Tokens"). It is configurable so that
  // tests can rotate keys without waiting.
  const getKey = createRemoteJWKSet(new URL(jwt.jwksUrl), {
    cooldownDuration: jwt.jwksCooldownSeconds * 1000,
  });
  /**
   * Tokens whose signature and claims passed, by token, until they expire: a logged-in client
   * sends the same token with every request, and an EdDSA check each time was 5-7% of the
   * router's CPU (issue #14). Bounded, oldest out first; an entry holds only while the key set
   * still has the key its signature was checked with.
   */
  const verified = new Map<string, VerifiedClaims>();

  async function jwksReady(): Promise<true | string> {
    if (getKey.jwks()) return true;
    try {
      await getKey.reload();
      return true;
    } catch (error) {
      return `the token signing keys cannot be fetched: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  const verify = async (authorizationHeader: string | undefined): Promise<Identity | null> => {
    if (authorizationHeader === undefined || authorizationHeader.trim() === '') return null;
    const match = /^Bearer +([A-Za-z0-9\-_.]+)\s*$/i.exec(authorizationHeader);
    if (!match?.[1]) {
      onRefused('invalid');
      throw refuse('The Authorization header must be "Bearer <access token>".', 'malformed-header');
    }

    const token = match[1];
    const cached = verified.get(token);
    if (cached && (await stillValid(cached, Date.now() / 1000))) {
      // Most recently used last, so that the oldest is the first to go when the cache is full.
      verified.delete(token);
      verified.set(token, cached);
      return checkRevocation(cached);
    }
    verified.delete(token);

    // The key the signature was checked with, to tell later whether the key set still has it.
    let used: { key: SigningKey; header: JWSHeaderParameters } | undefined;
    const keyFor = async (header: JWSHeaderParameters, input: FlattenedJWSInput) => {
      const key = await getKey(header, input);
      used = { key, header };
      return key;
    };
    let payload;
    try {
      ({ payload } = await jwtVerify(token, keyFor, {
        algorithms: [...jwt.algorithms],
        issuer: jwt.issuer,
        audience: jwt.audience,
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: jwt.clockToleranceSeconds,
        // jose checks `iat` only against a maximum age: without one, a token issued an hour in
        // the future, or valid for ten years, would pass.
        maxTokenAge: jwt.maxAgeSeconds,
        ...(jwt.typ === null ? {} : { typ: jwt.typ }),
      }));
    } catch (error) {
      if (error instanceof errors.JOSEError && TOKEN_FAULTS.has(error.code)) {
        logger.info('refused an access token', { reason: error.code });
        onRefused(error instanceof errors.JWTExpired ? 'expired' : 'invalid');
        throw error instanceof errors.JWTExpired
          ? refuse('Your access token has expired. Log in again.', 'expired')
          : refuse('Your access token is invalid. Log in again.', 'invalid');
      }
      // The key set could not be fetched or parsed: our problem, not the caller's.
      logger.error('could not verify an access token', describeError(error));
      onRefused('jwks_unavailable');
      throw new HttpError(
        503,
        ErrorCode.SERVICE_UNAVAILABLE,
        'Access tokens cannot be checked right now. Try again shortly.',
      );
    }

    const { sub: subject, sid, gen } = payload;
    // An identity provider that knows nothing of our roles issues plain users.
    const role = payload[jwt.roleClaim] ?? 'USER';
    // A scope claim that is there but unreadable is refused, never read as "no scopes".
    const scopes = parseScopes(payload[jwt.scopeClaim]);
    if (
      !subject ||
      !isRole(role) ||
      !scopes ||
      (sid !== undefined && typeof sid !== 'string') ||
      (gen !== undefined && !Number.isInteger(gen))
    ) {
      logger.info('refused an access token', { reason: 'bad-claims' });
      onRefused('invalid');
      throw refuse('Your access token is invalid. Log in again.', 'invalid');
    }
    if (!used) throw new Error('jose verified a token without asking for its key');
    const claims: VerifiedClaims = {
      key: used.key,
      header: used.header,
      subject,
      role,
      scopes,
      sid,
      gen: typeof gen === 'number' ? gen : undefined,
      exp: typeof payload.exp === 'number' ? payload.exp : 0,
      iat: typeof payload.iat === 'number' ? payload.iat : 0,
    };
    if (verified.size >= MAX_CACHED_TOKENS) {
      const oldest = verified.keys().next();
      if (!oldest.done) verified.delete(oldest.value);
    }
    verified.set(token, claims);
    return checkRevocation(claims);
  };

  /**
   * Whether a token verified before is still within its lifetime and its maximum age, and the
   * key set still holds the very key it was checked with (not withdrawn, not replaced).
   */
  const stillValid = async (claims: VerifiedClaims, now: number) =>
    claims.exp + jwt.clockToleranceSeconds > now &&
    claims.iat + jwt.maxAgeSeconds + jwt.clockToleranceSeconds > now &&
    (await getKey(claims.header).then(
      (key) => key === claims.key,
      () => false,
    ));

  // The revocation check runs on every request, cached signature or not.
  const checkRevocation = async ({ subject, role, scopes, sid, gen }: VerifiedClaims) => {
    // Only a token that names its session can have been revoked; one from an identity provider
    // of your own may not, and costs no look-up.
    if (
      isRevoked &&
      sid !== undefined &&
      (await isRevoked({ sid, gen }).catch((error: unknown) => {
        // No copy of the list at all (503): the token cannot be checked, as without the JWKS.
        onRefused('revocations_unavailable');
        throw error;
      }))
    ) {
      logger.info('refused an access token', { reason: 'revoked' });
      onRefused('revoked');
      throw refuse(
        'Your access token was revoked: you logged out, or your password or role changed. Refresh it, or log in again.',
        'revoked',
      );
    }
    return createIdentity(subject, role, scopes);
  };
  return Object.assign(verify, {
    ready: async (): Promise<Record<string, true | string>> => {
      const [jwks, revocations] = await Promise.all([jwksReady(), isRevoked?.ready()]);
      return revocations === undefined ? { jwks } : { jwks, revocations };
    },
  });
}

/** A 401 with the RFC 6750 challenge, so generic HTTP clients know to fetch a new token. */
function refuse(
  message: string,
  reason: 'malformed-header' | 'expired' | 'invalid' | 'revoked',
): HttpError {
  const error = reason === 'malformed-header' ? 'invalid_request' : 'invalid_token';
  return new HttpError(
    401,
    ErrorCode.UNAUTHENTICATED,
    message,
    { reason },
    { 'www-authenticate': `Bearer error="${error}", error_description="${message}"` },
  );
}
