import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import type { Db } from 'mongodb';
import { createGraphQLRequestListener, type Logger } from '@supergraph/service-kit';
import {
  applyAuthorization,
  createByIdLoader,
  createIdentityGate,
  createSubgraphApolloServer,
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

export interface UsersSubgraph {
  /** A Node request listener: hand it to `listen` (or `http.createServer`). */
  readonly listener: ReturnType<typeof createGraphQLRequestListener<UsersContext>>;
  readonly repository: UserRepository;
  readonly passwords: PasswordHasher;
  /** Stops Apollo Server. The caller owns the HTTP server and the MongoClient. */
  stop(): Promise<void>;
}

/**
 * Builds the users subgraph without listening: schema, authorization, Apollo Server and the
 * HTTP listener. It creates the indexes it relies on, which is idempotent.
 */
export async function createUsersSubgraph({
  config,
  db,
  signingKey,
  logger,
}: UsersSubgraphOptions): Promise<UsersSubgraph> {
  const repository = createUserRepository(db);
  await repository.ensureIndexes();

  const schema = applyAuthorization(buildSubgraphSchema([{ typeDefs, resolvers }]), { policies });
  const apollo = createSubgraphApolloServer<UsersContext>(schema, logger);
  await apollo.start();

  const passwords = createPasswordHasher();
  const tokens = createTokenIssuer({ key: signingKey, ...config.jwt });
  const gate = createIdentityGate({ audience: 'users', ...config.identity, logger });
  const jwksBody = JSON.stringify(jwks([signingKey]));

  const listener = createGraphQLRequestListener<UsersContext>({
    apollo,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    context: async (request) => ({
      identity: gate(request),
      viewerFor: new WeakMap(),
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
      '/health': () => ({
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: '{"status":"ok"}',
      }),
    },
  });

  return { listener, repository, passwords, stop: () => apollo.stop() };
}
