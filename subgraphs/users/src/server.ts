import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import type { Db } from 'mongodb';
import { createMetricsRegistry, type Logger, type Registry } from '@supergraph/service-kit';
import { REVOCATIONS_AUDIENCE, REVOCATIONS_PATH } from '@supergraph/identity';
import {
  createByIdLoader,
  createIdentityGate,
  createRequestIdStore,
  createSubgraphServer,
  type SubgraphServer,
} from '@supergraph/subgraph-kit';
import type { UsersConfig } from './config.js';
import type { UsersContext } from './context.js';
import { createPasswordHasher, type PasswordHasher } from './auth/passwords.js';
import { jwks, type SigningKey, type VerificationKey } from './auth/keys.js';
import { createDeviceTokens } from './auth/deviceTokens.js';
import { createLoginThrottle } from './auth/loginThrottle.js';
import { createAccessRevocations } from './auth/revocations.js';
import { createSessions } from './auth/sessions.js';
import { createTokenIssuer } from './auth/tokens.js';
import { createLoginThrottleRepository } from './db/loginThrottle.js';
import { createRefreshTokenRepository } from './db/refreshTokens.js';
import { createRevocationRepository } from './db/revocations.js';
import { createUserRepository, type UserRepository } from './db/users.js';
import { createUsersMetrics } from './metrics.js';
import { policies } from './policies.js';
import { resolvers } from './resolvers/index.js';

export const typeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface UsersSubgraphOptions {
  config: Pick<
    UsersConfig,
    | 'identity'
    | 'jwt'
    | 'loginThrottle'
    | 'maxBodyBytes'
    | 'mongodbTimeoutMs'
    | 'deviceTokenTtlSeconds'
    | 'passwordHashing'
  >;
  db: Db;
  /** The current key: it signs every new token. */
  signingKey: SigningKey;
  /** Keys from before a rotation: published in the JWKS and trusted, never used to sign. */
  previousKeys?: readonly VerificationKey[];
  logger: Logger;
  /** Where the subgraph's metrics go; a registry of its own (`UsersSubgraph.registry`) without one. */
  registry?: Registry;
}

export interface UsersSubgraph extends SubgraphServer {
  readonly repository: UserRepository;
  readonly passwords: PasswordHasher;
  /** The subgraph's Prometheus metrics, for `serveMetrics` on METRICS_PORT. */
  readonly registry: Registry;
}

/**
 * Builds the users subgraph without listening. It creates the indexes it relies on, which is
 * idempotent.
 */
export async function createUsersSubgraph({
  config,
  db,
  signingKey,
  previousKeys = [],
  logger,
  registry = createMetricsRegistry(),
}: UsersSubgraphOptions): Promise<UsersSubgraph> {
  const metrics = createUsersMetrics(registry);
  const bounds = { maxTimeMS: config.mongodbTimeoutMs };
  const repository = createUserRepository(db, bounds);
  const refreshTokens = createRefreshTokenRepository(db, bounds);
  const loginAttempts = createLoginThrottleRepository(db, bounds);
  const revocationRepository = createRevocationRepository(db, bounds);
  const requestIds = createRequestIdStore(db, {
    maxSkewSeconds: config.identity.maxSkewSeconds,
    maxTimeMs: config.mongodbTimeoutMs,
  });
  await repository.ensureIndexes();
  await refreshTokens.ensureIndexes();
  await loginAttempts.ensureIndexes();
  await revocationRepository.ensureIndexes();
  await requestIds.ensureIndexes();

  const passwords = createPasswordHasher(config.passwordHashing);
  const deviceTokens = createDeviceTokens({
    secret: config.identity.secret,
    ttlSeconds: config.deviceTokenTtlSeconds,
  });
  const tokens = createTokenIssuer({
    key: signingKey,
    previousKeys,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    ttlSeconds: config.jwt.ttlSeconds,
    refreshTtlSeconds: config.jwt.refreshTtlSeconds,
  });
  const revocations = createAccessRevocations({
    repository: revocationRepository,
    accessTokenTtlSeconds: config.jwt.ttlSeconds,
    logger,
  });
  const sessions = createSessions({
    tokens,
    refreshTokens,
    users: repository,
    revocations,
    logger,
  });
  // The revocation list is for the routers only: it says who logged out when.
  const routerOnly = createIdentityGate({
    audience: REVOCATIONS_AUDIENCE,
    ...config.identity,
    requestIds,
    logger,
  });
  const loginThrottle = createLoginThrottle({
    repository: loginAttempts,
    settings: config.loginThrottle,
    logger,
  });
  // The current key and the previous one: a token signed before the last rotation stays valid
  // until it expires, at the router and here.
  const jwksBody = JSON.stringify(jwks([signingKey, ...previousKeys]));

  const server = await createSubgraphServer<UsersContext>({
    name: 'users',
    schema: buildSubgraphSchema([{ typeDefs, resolvers }]),
    policies,
    identity: config.identity,
    requestIds,
    maxBodyBytes: config.maxBodyBytes,
    logger,
    context: (base, _request, { clientIp }) => ({
      ...base,
      users: repository,
      loaders: { userById: createByIdLoader((ids) => repository.findByIds(ids)) },
      passwords,
      sessions,
      loginThrottle,
      deviceTokens,
      clientIp,
      metrics,
    }),
    routes: {
      // Public keys only; the router (or anyone) verifies access tokens with these.
      '/.well-known/jwks.json': () => ({
        status: 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
        body: jwksBody,
      }),
      // Refuses, with 401, a request the router did not sign.
      [REVOCATIONS_PATH]: async (request) => {
        await routerOnly(request);
        return {
          status: 200,
          headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
          body: JSON.stringify(
            await revocations.list(new URLSearchParams(request.search).get('since')),
          ),
        };
      },
    },
  });
  return { ...server, repository, passwords, registry };
}
