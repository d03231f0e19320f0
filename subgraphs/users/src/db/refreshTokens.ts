import type { Collection, Db, ObjectId } from 'mongodb';
import { ensureIndexes, isDuplicateKeyError } from '@supergraph/service-kit';

/**
 * One refresh token as stored. Never the token itself: only its SHA-256 (`tokenHash`), so that
 * whoever reads the database or a backup cannot use what they find.
 *
 * The tokens of one login form a family, a chain: login stores generation 0, and each rotation
 * stores the next generation under the `_id` `<familyId>.<generation>`. That `_id` is what makes
 * rotation atomic: of two requests that rotate the same token, exactly one can insert the next
 * generation; the other gets a duplicate key, which is how reuse is detected. So a token has
 * been used exactly when the next generation exists, and no `usedAt` is written anywhere.
 */
export interface RefreshTokenDocument {
  _id: string;
  familyId: string;
  generation: number;
  /** The token's `jti` claim. */
  jti: string;
  tokenHash: string;
  userId: ObjectId;
  /** When it was issued; for generation n+1, that is also when generation n was used. */
  createdAt: Date;
  expiresAt: Date;
  /** Set on every token of a family when the family is revoked. */
  revokedAt: Date | null;
}

export type RefreshTokenRepository = ReturnType<typeof createRefreshTokenRepository>;

export function refreshTokenId(familyId: string, generation: number): string {
  return `${familyId}.${generation}`;
}

/**
 * Everything the users subgraph does with the `refreshTokens` collection.
 *
 * Why an insert and not `findOneAndUpdate({ usedAt: null }, { $set: { usedAt } })` decides which
 * rotation wins: FerretDB (which the tests and `npm start` use) applies an update by reading the
 * document and writing it back without isolation, so twenty concurrent conditional updates of
 * one document can all report success. A unique `_id` is enforced by the storage engine on
 * MongoDB and FerretDB alike. For the same reason the only field ever updated is `revokedAt`,
 * and a family counts as revoked when any of its documents has it: a revocation that misses a
 * generation inserted while it ran still covers the older ones, and that is enough.
 */
/** `maxTimeMS` bounds each query on the server, which would go on with one its client gave up on. */
export function createRefreshTokenRepository(
  db: Db,
  { maxTimeMS = 2_000 }: { maxTimeMS?: number } = {},
) {
  const tokens: Collection<RefreshTokenDocument> =
    db.collection<RefreshTokenDocument>('refreshTokens');

  return {
    async ensureIndexes(): Promise<void> {
      await ensureIndexes(tokens, [
        { key: { tokenHash: 1 }, name: 'tokenHash_unique', unique: true },
        { key: { familyId: 1 }, name: 'familyId' },
        { key: { userId: 1 }, name: 'userId' },
      ]);
    },

    /**
     * Stores a token. Returns false when that generation of the family exists already: someone
     * rotated the parent token first.
     */
    async insert(doc: RefreshTokenDocument): Promise<boolean> {
      try {
        await tokens.insertOne(doc);
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },

    async findByHash(tokenHash: string): Promise<RefreshTokenDocument | null> {
      return tokens.findOne({ tokenHash }, { maxTimeMS });
    },

    async isFamilyRevoked(familyId: string): Promise<boolean> {
      return (await tokens.findOne({ familyId, revokedAt: { $ne: null } }, { maxTimeMS })) !== null;
    },

    /** Revokes every token of a family; returns how many were live until now. */
    async revokeFamily(familyId: string, now = new Date()): Promise<number> {
      const { modifiedCount } = await tokens.updateMany(
        { familyId, revokedAt: null },
        { $set: { revokedAt: now } },
      );
      return modifiedCount;
    },

    /** Revokes every token of a user: their password changed, or they were deleted. */
    async revokeUser(userId: ObjectId, now = new Date()): Promise<number> {
      const { modifiedCount } = await tokens.updateMany(
        { userId, revokedAt: null },
        { $set: { revokedAt: now } },
      );
      return modifiedCount;
    },

    /**
     * A user's sessions that issued a token after `since`, each with its latest generation: the
     * sessions that may have a live access token.
     */
    async familiesOf(
      userId: ObjectId,
      since: Date,
    ): Promise<{ familyId: string; generation: number }[]> {
      const latest = new Map<string, number>();
      const docs = tokens.find(
        { userId, createdAt: { $gt: since } },
        { projection: { familyId: 1, generation: 1 }, maxTimeMS },
      );
      for await (const { familyId, generation } of docs) {
        latest.set(familyId, Math.max(generation, latest.get(familyId) ?? 0));
      }
      return [...latest].map(([familyId, generation]) => ({ familyId, generation }));
    },

    /**
     * Deletes the families of a user whose every token has expired. FerretDB has no TTL indexes,
     * so login tidies up after the user who logs in. A family goes whole, never token by token:
     * its revoked tokens are what keeps its later ones revoked (see above).
     */
    async deleteExpiredFamilies(userId: ObjectId, now = new Date()): Promise<void> {
      // No maxTimeMS on distinct: FerretDB refuses the field ("unknown field"). Both read one
      // user's tokens, by index.
      const expired = await tokens.distinct('familyId', { userId, expiresAt: { $lt: now } });
      if (expired.length === 0) return;
      const live = new Set(
        await tokens.distinct('familyId', {
          familyId: { $in: expired },
          expiresAt: { $gte: now },
        }),
      );
      const dead = expired.filter((familyId) => !live.has(familyId));
      if (dead.length > 0) await tokens.deleteMany({ familyId: { $in: dead } });
    },
  };
}
