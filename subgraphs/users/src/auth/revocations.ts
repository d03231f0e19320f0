import { describeError, type Logger } from '@supergraph/service-kit';
import {
  REVOCATIONS_PAGE_SIZE,
  type RevocationList,
  type SessionRevocation,
} from '@supergraph/identity';
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
  /** What `GET /revocations[?since=<cursor>]` answers: one page. */
  list(cursor?: string | null, now?: Date): Promise<RevocationList>;
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
  logger: Logger;
}): AccessRevocations {
  const { repository, logger } = options;
  const windowSeconds = options.accessTokenTtlSeconds + MARGIN_SECONDS;
  let lastSweep = 0;
  let sweeping: Promise<void> | undefined;

  return {
    windowSeconds,
    revoke: (sessions) => repository.add(sessions),

    async list(cursor, now = new Date()) {
      const windowStart = new Date(now.getTime() - windowSeconds * 1000);
      // Now and then, and never in the way: a sweep on a big collection takes seconds on
      // FerretDB, and the routers are waiting for the list.
      if (now.getTime() - lastSweep > 60_000 && !sweeping) {
        lastSweep = now.getTime();
        sweeping = repository
          .deleteOlderThan(windowStart)
          .catch((error: unknown) => {
            logger.warn('could not sweep expired revocations', describeError(error));
          })
          .finally(() => {
            sweeping = undefined;
          });
      }
      const given = parseCursor(cursor);
      const after = given && given.at > windowStart ? given : { at: windowStart, id: '' };
      const docs = await repository.page(after, REVOCATIONS_PAGE_SIZE + 1);
      const more = docs.length > REVOCATIONS_PAGE_SIZE;
      const page = docs.slice(0, REVOCATIONS_PAGE_SIZE);
      const last = page.at(-1);
      // Within a fetch, the next page starts exactly after this one. The next fetch starts
      // there too, unless that is in the last few seconds: another replica whose clock is
      // behind may still write a revocation dated then. Seeing one twice costs nothing.
      const settled = now.getTime() - OVERLAP_MS;
      const base = last ? { at: last.at, id: last._id } : after;
      const next =
        more || base.at.getTime() < settled ? `${base.at.getTime()}:${base.id}` : `${settled}:`;
      return {
        windowSeconds,
        sessions: page.map(({ sid, upTo, at }) =>
          upTo === null ? { sid, at: at.getTime() } : { sid, upTo, at: at.getTime() },
        ),
        cursor: next,
        more,
      };
    },
  };
}

/**
 * How far back of the newest revocation seen the next fetch starts: more than the clocks of
 * two users replicas disagree (the signed requests' window, IDENTITY_MAX_SKEW_SECONDS, already
 * asks that they agree within 10 s). It costs a fetch what was revoked in that time, again.
 */
const OVERLAP_MS = 15_000;

/** `<ms>:<id>`, as `list` writes it; null for anything else. */
function parseCursor(cursor: string | null | undefined): { at: Date; id: string } | null {
  const match = cursor ? /^(\d{1,15}):(.{0,200})$/s.exec(cursor) : null;
  if (!match) return null;
  const at = new Date(Number(match[1]));
  return Number.isNaN(at.getTime()) ? null : { at, id: match[2] ?? '' };
}
