import type { Db } from 'mongodb';
import type { Logger } from '@supergraph/service-kit';
import { isDuplicateKeyError } from '@supergraph/service-kit';
import type { SeedUser } from '../config.js';
import type { PasswordHasher } from '../auth/passwords.js';
import type { UserRepository } from './users.js';

interface SeedMarker {
  _id: string;
  at: Date;
}

/**
 * Creates the seed users on first start, and only then. A marker per seed user records that it
 * was seeded, so a seed user that an admin later deletes or renames is not brought back, and
 * one that someone changed is never overwritten. The marker is written after the user, so a
 * crash in between just means the (idempotent) insert runs again next time.
 */
export async function seedUsers(
  db: Db,
  repository: UserRepository,
  seeds: readonly SeedUser[],
  passwords: PasswordHasher,
  logger: Logger,
): Promise<void> {
  const markers = db.collection<SeedMarker>('seed_markers');
  for (const seed of seeds) {
    const markerId = `user:${seed.username}`;
    if (await markers.findOne({ _id: markerId })) continue;
    const created = await repository.insertIfAbsent({
      username: seed.username,
      passwordHash: await passwords.hash(seed.password),
      fullName: seed.fullName,
      email: seed.email,
      role: seed.role,
    });
    try {
      await markers.insertOne({ _id: markerId, at: new Date() });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    if (created) logger.info('seeded user', { username: seed.username, role: seed.role });
  }
}
