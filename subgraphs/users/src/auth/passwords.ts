import { hash, verify } from '@node-rs/argon2';

/**
 * OWASP Password Storage Cheat Sheet minimum for argon2id: 19 MiB of memory, 2 iterations, 1
 * degree of parallelism. About 30 ms a hash on these machines.
 */
// 2 is `Algorithm.Argon2id`, a const enum that `verbatimModuleSyntax` cannot import.
const ARGON2ID = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Longer inputs are refused before hashing, so a huge "password" cannot be used to burn CPU. */
export const MAX_PASSWORD_LENGTH = 1024;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** True when the password matches the hash. A malformed hash counts as a mismatch. */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /**
   * Spends the same time as `verify` on a hash of nothing, and returns false. Login calls it for
   * unknown usernames so that timing does not tell which usernames exist.
   */
  verifyNobody(password: string): Promise<false>;
}

export function createPasswordHasher(): PasswordHasher {
  let dummyHash: Promise<string> | undefined;
  const verifyHash = async (passwordHash: string, password: string) => {
    try {
      return await verify(passwordHash, password, ARGON2ID);
    } catch {
      return false;
    }
  };
  return {
    hash: (password) => hash(password, ARGON2ID),
    verify: verifyHash,
    async verifyNobody(password) {
      dummyHash ??= hash('no user has this password', ARGON2ID);
      await verifyHash(await dummyHash, password);
      return false;
    },
  };
}
