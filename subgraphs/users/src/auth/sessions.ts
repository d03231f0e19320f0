import { randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { isObjectIdHex, unauthenticated, type Logger } from '@supergraph/service-kit';
import {
  refreshTokenId,
  type RefreshTokenDocument,
  type RefreshTokenRepository,
} from '../db/refreshTokens.js';
import type { UserRecord, UserRepository } from '../db/users.js';
import type { AccessRevocations } from './revocations.js';
import {
  hashRefreshToken,
  InvalidRefreshTokenError,
  type RefreshTokenClaims,
  type TokenIssuer,
} from './tokens.js';

/** What `login` and `refreshToken` return, but for `tokenType`. */
export interface Session {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly refreshToken: string;
  readonly refreshExpiresIn: number;
  readonly user: UserRecord;
}

export interface Sessions {
  /**
   * After a successful login: a new family of refresh tokens. `passwordHash` is the hash the
   * password was checked against; if it changed meanwhile, the session ends at once.
   */
  start(user: UserRecord, passwordHash: string): Promise<Session>;
  /**
   * Exchanges a refresh token for a new access token and the next refresh token. A token that
   * was used already revokes its whole family (someone holds a copy) and is refused; so is an
   * expired, revoked or unknown one. Throws UNAUTHENTICATED.
   */
  refresh(refreshToken: string): Promise<Session>;
  /**
   * Revokes the token's family. True when something was live until now, false when nothing was
   * (idempotent). Throws UNAUTHENTICATED only for a string that is not a refresh token of ours.
   */
  logout(refreshToken: string): Promise<boolean>;
  /**
   * Revokes every refresh token of a user, and their access tokens: their password changed, or
   * they are gone.
   */
  revokeUser(userId: ObjectId): Promise<void>;
  /**
   * Revokes a user's access tokens but not their sessions: their role changed, and a refresh
   * gives them a token that says so.
   */
  revokeAccessTokens(userId: ObjectId): Promise<void>;
}

const LOG_IN_AGAIN = 'Your session has ended. Log in again.';

/**
 * Refresh token rotation with reuse detection (OAuth 2.0 Security BCP, RFC 9700 §4.14.2): each
 * refresh token works once, and a second use of one, whoever makes it, revokes every token that
 * descends from the same login. The state lives in MongoDB, so every users replica sees a
 * revocation made by any other.
 */
export function createSessions(options: {
  tokens: TokenIssuer;
  refreshTokens: RefreshTokenRepository;
  users: UserRepository;
  revocations: AccessRevocations;
  logger: Logger;
}): Sessions {
  const { tokens, refreshTokens, users, revocations, logger } = options;

  /** The next refresh token of a family, and the document that stores its hash. */
  async function mintRefreshToken(
    userId: ObjectId,
    family: { familyId: string; generation: number },
    now: Date,
  ): Promise<{ refreshToken: string; doc: RefreshTokenDocument }> {
    const jti = randomUUID();
    const expiresAt = new Date(now.getTime() + tokens.refreshTtlSeconds * 1000);
    const refreshToken = await tokens.issueRefreshToken({
      userId: userId.toHexString(),
      jti,
      expiresAt,
    });
    return {
      refreshToken,
      doc: {
        _id: refreshTokenId(family.familyId, family.generation),
        ...family,
        jti,
        tokenHash: hashRefreshToken(refreshToken),
        userId,
        createdAt: now,
        expiresAt,
        revokedAt: null,
      },
    };
  }

  /**
   * The session a stored refresh token opens, with an access token signed for `user` as read
   * after the refresh token was stored. That order is what keeps a stale role or password from
   * outliving a change: a change written before the read is in the token, and one written after
   * it revokes this generation too, since `revokeUser` and `revokeAccessTokens` list the sessions
   * after the user is written.
   */
  async function open(
    user: UserRecord,
    { refreshToken, doc }: { refreshToken: string; doc: RefreshTokenDocument },
  ): Promise<Session> {
    return {
      accessToken: await tokens.issueAccessToken({
        id: user._id.toHexString(),
        role: user.role,
        sid: doc.familyId,
        gen: doc.generation,
      }),
      expiresIn: tokens.ttlSeconds,
      refreshToken,
      refreshExpiresIn: tokens.refreshTtlSeconds,
      user,
    };
  }

  /** The sessions of a user that may have a live access token, for a revocation. */
  function liveFamiliesOf(userId: ObjectId) {
    return refreshTokens.familiesOf(
      userId,
      new Date(Date.now() - revocations.windowSeconds * 1000),
    );
  }

  /**
   * A presented token's claims and its stored document (null when the database does not know
   * it), or null when the token itself is not one of ours: malformed, tampered, wrong type.
   */
  async function lookUp(refreshToken: string) {
    let claims: RefreshTokenClaims;
    try {
      claims = await tokens.verifyRefreshToken(refreshToken);
    } catch (error) {
      if (!(error instanceof InvalidRefreshTokenError)) throw error;
      logger.info('refused a refresh token', { reason: error.reason });
      return null;
    }
    const doc = await refreshTokens.findByHash(hashRefreshToken(refreshToken));
    return { claims, doc: doc && doc.jti === claims.jti ? doc : null };
  }

  /**
   * Ends a session: its refresh tokens, and the access tokens they gave out. The access tokens
   * first: should the second step fail, a retry still finds the session live and ends it.
   */
  async function revokeFamily(doc: RefreshTokenDocument, reason: string): Promise<number> {
    await revocations.revoke([{ sid: doc.familyId }]);
    const revoked = await refreshTokens.revokeFamily(doc.familyId);
    logger.warn('revoked a refresh token family', {
      reason,
      familyId: doc.familyId,
      userId: doc.userId.toHexString(),
      revoked,
    });
    return revoked;
  }

  return {
    async start(user, passwordHash) {
      const now = new Date();
      await refreshTokens.deleteExpiredFamilies(user._id, now);
      const minted = await mintRefreshToken(
        user._id,
        { familyId: randomUUID(), generation: 0 },
        now,
      );
      await refreshTokens.insert(minted.doc);
      // Read again now that the session is stored: a password changed (or the user deleted)
      // while the old one was being checked ends it here; a change after this read finds it.
      const current = await users.findCredentials(user.username);
      if (!current || !current.user._id.equals(user._id) || current.passwordHash !== passwordHash) {
        await revokeFamily(minted.doc, 'changed-during-login');
        throw unauthenticated(`The account changed while you were logging in. ${LOG_IN_AGAIN}`);
      }
      return open(current.user, minted);
    },

    async refresh(refreshToken) {
      const now = new Date();
      const found = await lookUp(refreshToken);
      if (!found?.doc) {
        throw unauthenticated(`That refresh token is not valid. ${LOG_IN_AGAIN}`);
      }
      const { claims, doc } = found;
      if (claims.expired || doc.expiresAt <= now) {
        throw unauthenticated(`Your refresh token has expired. ${LOG_IN_AGAIN}`);
      }
      if (await refreshTokens.isFamilyRevoked(doc.familyId)) {
        // A token from a revoked family: log out, reuse, or a password change. If it is the
        // newest one, it was minted while a revocation ran; make sure it is revoked too.
        await revocations.revoke([{ sid: doc.familyId }]);
        await refreshTokens.revokeFamily(doc.familyId, now);
        throw unauthenticated(`This session was revoked. ${LOG_IN_AGAIN}`);
      }
      const next = await mintRefreshToken(
        doc.userId,
        { familyId: doc.familyId, generation: doc.generation + 1 },
        now,
      );
      if (!(await refreshTokens.insert(next.doc))) {
        // The next generation exists: this token was used before. Either a thief or the client
        // holds a stale copy, and we cannot tell which, so the whole family goes (RFC 9700).
        await revokeFamily(doc, 'reuse');
        throw unauthenticated(`This refresh token was used already. ${LOG_IN_AGAIN}`);
      }
      // The user is read again, after the next generation is stored (see `open`), so a changed
      // role is in the new access token at once.
      const [user] = isObjectIdHex(claims.userId)
        ? await users.findByIds([new ObjectId(claims.userId)])
        : [];
      if (!user || !user._id.equals(doc.userId)) {
        await revokeFamily(doc, 'user-gone');
        throw unauthenticated(`This account no longer exists. ${LOG_IN_AGAIN}`);
      }
      return open(user, next);
    },

    async logout(refreshToken) {
      const found = await lookUp(refreshToken);
      if (!found) {
        throw unauthenticated(
          'That is not a refresh token of ours. Send the refreshToken that login or refreshToken returned.',
        );
      }
      // One we signed that the database no longer knows (its family expired and was tidied
      // away) has nothing left to revoke.
      if (!found.doc) return false;
      // The access tokens first, and every time: a logout retried after a failure between the
      // two steps still records them (one record per session, however often).
      await revocations.revoke([{ sid: found.doc.familyId }]);
      return (await refreshTokens.revokeFamily(found.doc.familyId)) > 0;
    },

    async revokeUser(userId) {
      const families = await liveFamiliesOf(userId);
      await revocations.revoke(families.map(({ familyId }) => ({ sid: familyId })));
      const revoked = await refreshTokens.revokeUser(userId);
      if (revoked > 0) {
        logger.info('revoked the refresh tokens of a user', {
          userId: userId.toHexString(),
          revoked,
        });
      }
    },

    async revokeAccessTokens(userId) {
      // Up to each session's latest generation: the refresh after this one issues a token that
      // works, and says what changed.
      const families = await liveFamiliesOf(userId);
      await revocations.revoke(
        families.map(({ familyId, generation }) => ({ sid: familyId, upTo: generation })),
      );
    },
  };
}
