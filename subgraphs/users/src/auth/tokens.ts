import { createHash, randomUUID } from 'node:crypto';
import { createLocalJWKSet, errors, jwtVerify, SignJWT } from 'jose';
import type { Role } from '@supergraph/identity';
import { jwks, type SigningKey, type VerificationKey } from './keys.js';

/**
 * The access token's `typ` header (RFC 9068). The router requires it, so no other kind of JWT
 * signed by the same key can be passed off as an access token.
 */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/**
 * The refresh token's `typ` header. Refresh tokens are verified here only, and only with this
 * type, so an access token is never accepted as a refresh token, nor (at the router, which
 * requires `at+jwt`) the other way round (RFC 8725 §3.11, explicit typing).
 */
export const REFRESH_TOKEN_TYPE = 'rt+jwt';

/** Longer strings are refused unread: no token we issue comes near this. */
const MAX_REFRESH_TOKEN_LENGTH = 4096;

/** The claims of a refresh token whose signature, type, issuer and audience hold. */
export interface RefreshTokenClaims {
  readonly userId: string;
  readonly jti: string;
  readonly expired: boolean;
}

/** A refresh token that is not one of ours: malformed, tampered, another type, unknown key. */
export class InvalidRefreshTokenError extends Error {
  constructor(readonly reason: string) {
    super(`invalid refresh token: ${reason}`);
    this.name = 'InvalidRefreshTokenError';
  }
}

export interface TokenIssuer {
  /** Access token lifetime, seconds. */
  readonly ttlSeconds: number;
  /** Refresh token lifetime, seconds. */
  readonly refreshTtlSeconds: number;
  /**
   * `sid` is the session (the refresh token family) and `gen` the refresh that issued the token
   * (0 at login): what access token revocation names (packages/identity/src/revocations.ts).
   */
  issueAccessToken(user: { id: string; role: Role; sid: string; gen: number }): Promise<string>;
  /** Signs a refresh token for `userId` with this `jti`, expiring at `expiresAt`. */
  issueRefreshToken(input: { userId: string; jti: string; expiresAt: Date }): Promise<string>;
  /**
   * Checks a refresh token's signature (current or previous key), `typ`, `iss`, `aud` and
   * required claims. An expired one is returned with `expired: true` rather than thrown, because
   * `logout` still accepts it; `refreshToken` refuses it. Throws `InvalidRefreshTokenError`.
   */
  verifyRefreshToken(token: string): Promise<RefreshTokenClaims>;
}

/** What the database stores instead of a refresh token: its SHA-256, so a leaked copy grants nothing. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function createTokenIssuer(options: {
  key: SigningKey;
  /** Keys that tokens may still be signed with, after a rotation. */
  previousKeys?: readonly VerificationKey[];
  issuer: string;
  audience: string;
  ttlSeconds: number;
  refreshTtlSeconds: number;
}): TokenIssuer {
  const { key, issuer } = options;
  // Refresh tokens are addressed to the users subgraph itself, not to the API: a resource server
  // that forgot to check `typ` would still find the wrong audience (RFC 8725 §3.9).
  const refreshAudience = issuer;
  const trusted = createLocalJWKSet(jwks([key, ...(options.previousKeys ?? [])]));
  const algorithms = [...new Set([key.alg, ...(options.previousKeys ?? []).map((k) => k.alg)])];

  return {
    ttlSeconds: options.ttlSeconds,
    refreshTtlSeconds: options.refreshTtlSeconds,

    issueAccessToken: ({ id, role, sid, gen }) =>
      new SignJWT({ role, sid, gen })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(options.audience)
        .setSubject(id)
        .setIssuedAt()
        .setExpirationTime(`${options.ttlSeconds}s`)
        .setJti(randomUUID())
        .sign(key.privateKey),

    issueRefreshToken: ({ userId, jti, expiresAt }) =>
      new SignJWT({})
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: REFRESH_TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(refreshAudience)
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
        .setJti(jti)
        .sign(key.privateKey),

    async verifyRefreshToken(token) {
      if (token.length > MAX_REFRESH_TOKEN_LENGTH) throw new InvalidRefreshTokenError('too long');
      let payload;
      let expired = false;
      try {
        ({ payload } = await jwtVerify(token, trusted, {
          algorithms,
          issuer,
          audience: refreshAudience,
          typ: REFRESH_TOKEN_TYPE,
          requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        }));
      } catch (error) {
        // jose checks `exp` last, after the signature, type, issuer and audience.
        if (error instanceof errors.JWTExpired) {
          payload = error.payload;
          expired = true;
        } else if (error instanceof errors.JOSEError) {
          throw new InvalidRefreshTokenError(error.code);
        } else {
          throw error;
        }
      }
      const { sub, jti } = payload;
      if (typeof sub !== 'string' || typeof jti !== 'string' || sub === '' || jti === '') {
        throw new InvalidRefreshTokenError('claims');
      }
      return { userId: sub, jti, expired };
    },
  };
}
