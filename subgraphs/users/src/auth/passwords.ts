import { hash, verify } from '@node-rs/argon2';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '@supergraph/service-kit';

/**
 * OWASP Password Storage Cheat Sheet minimum for argon2id: 19 MiB of memory, 2 iterations, 1
 * degree of parallelism. About 30 ms a hash on these machines.
 */
// 2 is `Algorithm.Argon2id`, a const enum that `verbatimModuleSyntax` cannot import.
const ARGON2ID = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Longer inputs are refused before hashing, so a huge "password" cannot be used to burn CPU. */
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * How many password checks (a login, a password change: throttling reads and writes, the hash)
 * one process works on at once, and how many more may wait. A flood of logins then costs a
 * bounded amount of CPU, memory and database work, is refused at once beyond that, and leaves
 * nothing queued that would run long after its callers gave up.
 */
export interface PasswordHashingLimits {
  readonly maxConcurrent: number;
  readonly maxQueued: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** True when the password matches the hash. A malformed hash counts as a mismatch. */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /**
   * Spends the same time as `verify` on a hash of nothing, and returns false. Login calls it for
   * unknown usernames so that timing does not tell which usernames exist.
   */
  verifyNobody(password: string): Promise<false>;
  /**
   * Runs `work`, which checks or sets a password, in one of the process's slots for that,
   * waiting in the short queue for one, or refuses it at once with SERVICE_UNAVAILABLE and
   * `retryAfterSeconds` when the queue is full. Not reentrant: `work` must not call it.
   */
  bounded<T>(work: () => Promise<T>): Promise<T>;
}

/** The longest a password check waits for a slot before it is refused. */
const MAX_QUEUE_WAIT_MS = 1_000;

/** Refused: every slot is busy and the queue is full, or the wait for a slot ran out. */
function busy(): GraphQLError {
  return new GraphQLError('The service is busy checking passwords. Try again in a second.', {
    extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryAfterSeconds: 1 },
  });
}

export function createPasswordHasher(
  limits: PasswordHashingLimits = { maxConcurrent: 2, maxQueued: 16 },
): PasswordHasher {
  let running = 0;
  const waiting: { start: () => void }[] = [];
  /** Runs `work` in a slot, waiting briefly in the queue for one, or refuses at once. */
  const bounded = async <T>(work: () => Promise<T>): Promise<T> => {
    if (running >= limits.maxConcurrent) {
      if (waiting.length >= limits.maxQueued) throw busy();
      // A wait long enough to matter would outlast the router's patience with this request.
      await new Promise<void>((resolve, reject) => {
        const waiter = {
          start: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          reject(busy());
        }, MAX_QUEUE_WAIT_MS);
        waiting.push(waiter);
      });
    } else {
      running += 1;
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, so `running` counts it still.
      const next = waiting.shift();
      if (next) next.start();
      else running -= 1;
    }
  };

  let dummyHash: Promise<string> | undefined;
  const verifyHash = async (passwordHash: string, password: string) => {
    try {
      return await verify(passwordHash, password, ARGON2ID);
    } catch {
      return false;
    }
  };
  return {
    bounded,
    hash: (password) => hash(password, ARGON2ID),
    verify: verifyHash,
    async verifyNobody(password) {
      dummyHash ??= hash('no user has this password', ARGON2ID);
      await verifyHash(await dummyHash, password);
      return false;
    },
  };
}
