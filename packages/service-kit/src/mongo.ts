import {
  MongoClient,
  MongoServerError,
  ObjectId,
  type Collection,
  type Document,
  type IndexDescription,
  type MongoClientOptions,
} from 'mongodb';
import { badUserInput } from './errors.js';

/**
 * One MongoClient per process. The driver's default server selection timeout is 30 s, which
 * would hang every request that long during an outage; we fail in 5 s instead.
 */
export function createMongoClient(uri: string, options: MongoClientOptions = {}): MongoClient {
  return new MongoClient(uri, { serverSelectionTimeoutMS: 5_000, ...options });
}

/** E11000: a unique index refused the write. This is how concurrent duplicates are detected. */
export function isDuplicateKeyError(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000;
}

const OBJECT_ID_HEX = /^[0-9a-f]{24}$/i;

/**
 * Parses a GraphQL `ID` into an ObjectId, or throws BAD_USER_INPUT. We check the 24-hex form
 * ourselves because `ObjectId.isValid` also accepts any 12-character string.
 */
export function parseObjectId(value: string, argumentName = 'id'): ObjectId {
  if (!OBJECT_ID_HEX.test(value)) {
    throw badUserInput(`"${argumentName}" is not a valid id: expected 24 hexadecimal characters.`, {
      argumentName,
    });
  }
  return new ObjectId(value);
}

export function isObjectIdHex(value: unknown): value is string {
  return typeof value === 'string' && OBJECT_ID_HEX.test(value);
}

/**
 * Creates the named indexes that do not exist yet, at start. Asking only for the missing ones is
 * cheaper on every restart, and it sidesteps a FerretDB 1.24 crash on `createIndexes` for a
 * compound index that already exists. An index whose name exists with another definition is
 * left alone: changing one is a migration, not a restart.
 */
export async function ensureIndexes<T extends Document>(
  collection: Collection<T>,
  indexes: readonly (IndexDescription & { name: string })[],
): Promise<void> {
  const existing = new Set(
    (await collection.listIndexes().toArray().catch(namespaceMissing)).map((index) =>
      String(index['name']),
    ),
  );
  const missing = indexes.filter((index) => !existing.has(index.name));
  if (missing.length > 0) await collection.createIndexes([...missing]);
}

/** listIndexes on a collection that does not exist yet fails with NamespaceNotFound (26). */
function namespaceMissing(error: unknown): Document[] {
  if (error instanceof MongoServerError && error.code === 26) return [];
  throw error;
}
