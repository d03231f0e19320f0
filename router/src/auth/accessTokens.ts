import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { createIdentity, isRole, parseScopes, type Identity } from '@supergraph/identity';
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

    let payload;
    try {
      ({ payload } = await jwtVerify(match[1], getKey, {
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
    // Only a token that names its session can have been revoked; one from an identity provider
    // of your own may not, and costs no look-up.
    if (
      isRevoked &&
      sid !== undefined &&
      (await isRevoked({ sid, gen: typeof gen === 'number' ? gen : undefined }).catch(
        (error: unknown) => {
          // No copy of the list at all (503): the token cannot be checked, as without the JWKS.
          onRefused('revocations_unavailable');
          throw error;
        },
      ))
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
