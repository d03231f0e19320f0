import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Role } from '@supergraph/identity';
import type { SigningKey } from './keys.js';

/**
 * The access token's `typ` header (RFC 9068). The router requires it, so no other kind of JWT
 * signed by the same key can be passed off as an access token.
 */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface TokenIssuer {
  readonly ttlSeconds: number;
  issueAccessToken(user: { id: string; role: Role }): Promise<string>;
}

export function createTokenIssuer(options: {
  key: SigningKey;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}): TokenIssuer {
  return {
    ttlSeconds: options.ttlSeconds,
    issueAccessToken: ({ id, role }) =>
      new SignJWT({ role })
        .setProtectedHeader({ alg: options.key.alg, kid: options.key.kid, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(id)
        .setIssuedAt()
        .setExpirationTime(`${options.ttlSeconds}s`)
        .setJti(randomUUID())
        .sign(options.key.privateKey),
  };
}
