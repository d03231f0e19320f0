import { MongoClient, MongoServerError, ObjectId, type MongoClientOptions } from 'mongodb';
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
