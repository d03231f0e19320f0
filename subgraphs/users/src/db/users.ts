import { ObjectId, type Collection, type Db } from 'mongodb';
import type { Role } from '@supergraph/identity';
import { ensureIndexes, isDuplicateKeyError } from '@supergraph/service-kit';

/** A user as stored. `passwordHash` is an argon2id PHC string and never leaves this module's login path. */
export interface UserDocument {
  _id: ObjectId;
  username: string;
  passwordHash: string;
  fullName: string | null;
  email: string | null;
  role: Role;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A user as the rest of the subgraph sees it: without the password hash. Every read except the
 * one `login` makes projects the hash away, so no resolver can leak it even by mistake.
 */
export type UserRecord = Omit<UserDocument, 'passwordHash'>;

const WITHOUT_HASH = { projection: { passwordHash: 0 } } as const;

function withoutHash({ passwordHash: _hash, ...record }: UserDocument): UserRecord {
  return record;
}

export class UsernameTakenError extends Error {
  constructor(readonly username: string) {
    super(`The username "${username}" is already taken.`);
    this.name = 'UsernameTakenError';
  }
}

export interface NewUser {
  username: string;
  passwordHash: string;
  fullName: string | null;
  email: string | null;
  role: Role;
}

export type UserChanges = Partial<
  Pick<UserDocument, 'fullName' | 'email' | 'role' | 'passwordHash'>
>;

export type UserRepository = ReturnType<typeof createUserRepository>;

/** Everything the users subgraph does with MongoDB. Resolvers never touch the driver directly. */
/** `maxTimeMS` bounds each query on the server, which would go on with one its client gave up on. */
export function createUserRepository(db: Db, { maxTimeMS = 2_000 }: { maxTimeMS?: number } = {}) {
  const users: Collection<UserDocument> = db.collection<UserDocument>('users');

  return {
    /**
     * The unique index is what makes concurrent `createUser` calls with one username safe:
     * MongoDB lets exactly one insert through and refuses the others with E11000.
     */
    async ensureIndexes(): Promise<void> {
      await ensureIndexes(users, [
        { key: { username: 1 }, name: 'username_unique', unique: true },
        // `countAdmins`, before an admin is made a USER: without it, a read of every user.
        { key: { role: 1 }, name: 'role' },
      ]);
    },

    async findByIds(ids: readonly ObjectId[]): Promise<UserRecord[]> {
      return users.find({ _id: { $in: [...ids] } }, { ...WITHOUT_HASH, maxTimeMS }).toArray();
    },

    /** The only read that returns the hash: `login` needs it to verify a password. */
    async findCredentials(
      username: string,
    ): Promise<{ user: UserRecord; passwordHash: string } | null> {
      const doc = await users.findOne({ username }, { maxTimeMS });
      if (!doc) return null;
      const { passwordHash, ...user } = doc;
      return { user, passwordHash };
    },

    /** Oldest first, keyset-paginated on `_id` (ObjectIds grow with time). */
    async list(limit: number, after: ObjectId | undefined): Promise<UserRecord[]> {
      const filter = after ? { _id: { $gt: after } } : {};
      return users
        .find(filter, { ...WITHOUT_HASH, maxTimeMS })
        .sort({ _id: 1 })
        .limit(limit)
        .toArray();
    },

    /** Inserts a user, or throws `UsernameTakenError` when the unique index refuses it. */
    async insert(input: NewUser, now = new Date()): Promise<UserRecord> {
      const doc: UserDocument = { _id: new ObjectId(), ...input, createdAt: now, updatedAt: now };
      try {
        await users.insertOne(doc);
        return withoutHash(doc);
      } catch (error) {
        if (isDuplicateKeyError(error)) throw new UsernameTakenError(input.username);
        throw error;
      }
    },

    /**
     * Inserts the user only if no user has that name, and never changes an existing one: seeding
     * must not overwrite what people changed later.
     */
    async insertIfAbsent(input: NewUser, now = new Date()): Promise<boolean> {
      try {
        const result = await users.updateOne(
          { username: input.username },
          { $setOnInsert: { ...input, createdAt: now, updatedAt: now } },
          { upsert: true },
        );
        return result.upsertedCount === 1;
      } catch (error) {
        // Two processes seeding at once: the other one won, which is just as good.
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },

    async update(id: ObjectId, changes: UserChanges, now = new Date()): Promise<UserRecord | null> {
      // No projection here: FerretDB does not support one on findAndModify, so strip the hash in code.
      const updated = await users.findOneAndUpdate(
        { _id: id },
        { $set: { ...changes, updatedAt: now } },
        { returnDocument: 'after', maxTimeMS },
      );
      return updated ? withoutHash(updated) : null;
    },

    /** How many users have the role ADMIN. */
    countAdmins(): Promise<number> {
      return users.countDocuments({ role: 'ADMIN' }, { maxTimeMS });
    },

    async delete(id: ObjectId): Promise<boolean> {
      const { deletedCount } = await users.deleteOne({ _id: id });
      return deletedCount === 1;
    },
  };
}
