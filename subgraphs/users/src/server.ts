import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import type { Db } from 'mongodb';
import type { Logger } from '@supergraph/service-kit';
import {
  createByIdLoader,
  createSubgraphServer,
  type SubgraphServer,
} from '@supergraph/subgraph-kit';
import type { UsersConfig } from './config.js';
import type { UsersContext } from './context.js';
import { createPasswordHasher, type PasswordHasher } from './auth/passwords.js';
import { jwks, type SigningKey } from './auth/keys.js';
import { createTokenIssuer } from './auth/tokens.js';
import { createUserRepository, type UserRepository } from './db/users.js';
import { policies } from './policies.js';
import { resolvers } from './resolvers/index.js';

export const typeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface UsersSubgraphOptions {
  config: Pick<UsersConfig, 'identity' | 'jwt' | 'maxBodyBytes'>;
  db: Db;
  signingKey: SigningKey;
  logger: Logger;
}

export interface UsersSubgraph extends SubgraphServer {
  readonly repository: UserRepository;
  readonly passwords: PasswordHasher;
}

/**
 * Builds the users subgraph without listening. It creates the indexes it relies on, which is
 * idempotent.
 */
export async function createUsersSubgraph({
  config,
  db,
  signingKey,
  logger,
}: UsersSubgraphOptions): Promise<UsersSubgraph> {
  const repository = createUserRepository(db);
  await repository.ensureIndexes();

  const passwords = createPasswordHasher();
  const tokens = createTokenIssuer({ key: signingKey, ...config.jwt });
  const jwksBody = JSON.stringify(jwks([signingKey]));

  const server = await createSubgraphServer<UsersContext>({
    name: 'users',
    schema: buildSubgraphSchema([{ typeDefs, resolvers }]),
    policies,
    identity: config.identity,
    maxBodyBytes: config.maxBodyBytes,
    logger,
    context: (base) => ({
      ...base,
      users: repository,
      loaders: { userById: createByIdLoader((ids) => repository.findByIds(ids)) },
      passwords,
      tokens,
    }),
    routes: {
      // Public keys only; the router (or anyone) verifies access tokens with these.
      '/.well-known/jwks.json': () => ({
        status: 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
        body: jwksBody,
      }),
    },
  });
  return { ...server, repository, passwords };
}
