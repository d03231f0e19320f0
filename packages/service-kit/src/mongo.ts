import {
  MongoClient,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoDriverError,
  ObjectId,
  type Collection,
  type Db,
  type Document,
  type Filter,
  type IndexDescription,
  type MongoClientOptions,
} from 'mongodb';
import { badUserInput } from './errors.js';
import type { Readiness } from './httpServer.js';
import { instrumentMongoClient, type Registry } from './metrics.js';
import { traceMongoCommands } from './tracing.js';

/**
 * One MongoClient per process, with every wait bounded by `timeoutMs` (MONGODB_TIMEOUT_MS).
 * The driver's defaults would hang a request 30 s on server selection during an outage, and
 * without end on a socket to a server that stopped answering (a paused or overloaded one):
 * long after the router gave up on the subgraph. With these, the worst case, a socket that
 * times out and the one retry the driver makes, stays under twice `timeoutMs`.
 */
export function createMongoClient(
  uri: string,
  {
    timeoutMs = 2_000,
    metrics,
    traceCommands = false,
    ...options
  }: MongoClientOptions & {
    timeoutMs?: number;
    /** Counts the client's commands and pool into this registry, labelled with `service`. */
    metrics?: { registry: Registry; service: string };
    /** A span for each command of a traced request (pass `Tracing.enabled`, see tracing.ts). */
    traceCommands?: boolean;
  } = {},
): MongoClient {
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: Math.round(timeoutMs * 0.75),
    connectTimeoutMS: Math.round(timeoutMs * 0.75),
    socketTimeoutMS: timeoutMs,
    waitQueueTimeoutMS: Math.round(timeoutMs / 2),
    ...options,
    // Command latency comes from command monitoring, off by default in the driver.
    ...(metrics || traceCommands ? { monitorCommands: true } : {}),
  });
  if (metrics) instrumentMongoClient(client, metrics);
  if (traceCommands) traceMongoCommands(client);
  return client;
}

/**
 * Errors that mean "the database cannot be reached or did not answer in time", not "this
 * request is wrong": a client gets SERVICE_UNAVAILABLE for these, and may retry.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof MongoServerError) {
    // MaxTimeMSExpired, and the codes of a primary that stepped down or is not there yet.
    return [50, 91, 189, 10107, 11600, 11602, 13435, 13436].includes(Number(error.code));
  }
  return (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoNotConnectedError ||
    // Classes the driver does not export, known by their names.
    (error instanceof MongoDriverError &&
      (error.name === 'MongoWaitQueueTimeoutError' || error.name === 'MongoPoolClosedError'))
  );
}

/** Readiness of a service that needs MongoDB: a `ping` answered. */
export function mongoReadiness(client: MongoClient): () => Promise<Readiness> {
  return async () => {
    try {
      await client.db('admin').command({ ping: 1 });
      return { ready: true, checks: { mongodb: true } };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { ready: false, checks: { mongodb: `MongoDB does not answer: ${reason}` } };
    }
  };
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

/**
 * Ids per delete in a sweep. FerretDB's SQLite backend refuses one delete of about 30,000
 * documents ("too many SQL variables") and scans its collection for each delete: over a second
 * at 35,000 documents whatever the batch, 2.3 s for a batch of 1,000, past MONGODB_TIMEOUT_MS.
 */
export const SWEEP_BATCH_SIZE = 250;

/**
 * Deletes the documents that match `filter`, a bounded batch of ids at a time and at most
 * `maxBatches` batches (the rest waits for the next sweep): what every sweep does here, since
 * FerretDB has no TTL indexes. Returns how many it deleted.
 */
export async function deleteInBatches(
  db: Db,
  collectionName: string,
  filter: Filter<Document>,
  { maxBatches, maxTimeMS }: { maxBatches: number; maxTimeMS: number },
): Promise<number> {
  const collection = db.collection(collectionName);
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch += 1) {
    const ids = await collection
      .find(filter, { projection: { _id: 1 }, maxTimeMS })
      .limit(SWEEP_BATCH_SIZE)
      .map(({ _id }) => _id)
      .toArray();
    if (ids.length === 0) break;
    const result = await collection.deleteMany({ _id: { $in: ids } }, { maxTimeMS });
    deleted += result.deletedCount;
    if (ids.length < SWEEP_BATCH_SIZE) break;
  }
  return deleted;
}
