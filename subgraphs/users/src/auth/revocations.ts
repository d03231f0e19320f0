import type { RevocationList, SessionRevocation } from '@supergraph/identity';
import type { RevocationRepository } from '../db/revocations.js';

/**
 * Revokes access tokens, which the routers check (see packages/identity/src/revocations.ts).
 * Refresh tokens are revoked in their own collection (auth/sessions.ts); this is for the access
 * tokens already out there, which would otherwise stay valid until they expire.
 */
export interface AccessRevocations {
  /**
   * How long an access token can be accepted after it was issued: sessions with no refresh in
   * that time have no live access token, and need no revocation.
   */
  readonly windowSeconds: number;
  revoke(sessions: readonly SessionRevocation[]): Promise<void>;
  /** What `GET /revocations` answers. */
  list(now?: Date): Promise<RevocationList>;
}

/**
 * How long past an access token's lifetime a revocation is kept: the largest clock tolerance a
 * router accepts (JWT_CLOCK_TOLERANCE_SECONDS, up to 300 s, lets a token live that much past its
 * `exp`), and a minute for clocks that disagree.
 */
const MARGIN_SECONDS = 300 + 60;

export function createAccessRevocations(options: {
  repository: RevocationRepository;
  /** The lifetime of an access token (JWT_TTL_SECONDS). */
  accessTokenTtlSeconds: number;
}): AccessRevocations {
  const { repository } = options;
  const windowSeconds = options.accessTokenTtlSeconds + MARGIN_SECONDS;
  let lastSweep = 0;

  return {
    windowSeconds,
    revoke: (sessions) => repository.add(sessions),

    async list(now = new Date()) {
      const since = new Date(now.getTime() - windowSeconds * 1000);
      if (now.getTime() - lastSweep > 60_000) {
        lastSweep = now.getTime();
        await repository.deleteOlderThan(since);
      }
      return { windowSeconds, sessions: await repository.since(since) };
    },
  };
}
