import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseEnv, port, positiveInt } from '@supergraph/service-kit';
import { subgraphEnv, subgraphSettings, type SubgraphSettings } from '@supergraph/subgraph-kit';
import type { LoginThrottleSettings } from './auth/loginThrottle.js';
import type { PasswordHashingLimits } from './auth/passwords.js';

/** The issuer and audience the router expects by default; keep in sync with router/src/config.ts. */
export const DEFAULT_JWT_ISSUER = 'urn:supergraph:users';
export const DEFAULT_JWT_AUDIENCE = 'supergraph';

const Env = z
  .object({
    ...subgraphEnv,
    USERS_PORT: port(4001),
    USERS_DB: z.string().default('users'),
    JWT_ISSUER: z.string().default(DEFAULT_JWT_ISSUER),
    JWT_AUDIENCE: z.string().default(DEFAULT_JWT_AUDIENCE),
    JWT_TTL_SECONDS: positiveInt(15 * 60),
    JWT_ALG: z.enum(['EdDSA', 'ES256']).default('EdDSA'),
    JWT_PRIVATE_KEY: z.string().optional(),
    JWT_PREVIOUS_PUBLIC_KEY: z.string().optional(),
    REFRESH_TOKEN_TTL_SECONDS: positiveInt(30 * 24 * 60 * 60),
    LOGIN_MAX_FAILURES_PER_USERNAME: positiveInt(5),
    LOGIN_MAX_FAILURES_PER_IP: positiveInt(20),
    LOGIN_FAILURE_WINDOW_SECONDS: positiveInt(15 * 60),
    LOGIN_LOCKOUT_SECONDS: positiveInt(30),
    LOGIN_MAX_LOCKOUT_SECONDS: positiveInt(15 * 60),
    LOGIN_MAX_PER_IP: positiveInt(100),
    LOGIN_DEVICE_TOKEN_TTL_SECONDS: positiveInt(30 * 24 * 60 * 60),
    // Password hashing is the costliest thing a request can ask for: bounded per process.
    PASSWORD_HASH_CONCURRENCY: positiveInt(availableParallelism()),
    PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).max(1000).default(16),
    DATA_DIR: z.string().default('.data'),
    SEED_ADMIN_PASSWORD: z.string().optional(),
    SEED_USER_PASSWORD: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    // Development keys live in a file on disk; production keys must come from a secret store.
    if (env.NODE_ENV === 'production' && !env.JWT_PRIVATE_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_PRIVATE_KEY'],
        message: 'is required when NODE_ENV=production (a PKCS#8 PEM private key)',
      });
    }
    if (env.LOGIN_MAX_LOCKOUT_SECONDS < env.LOGIN_LOCKOUT_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['LOGIN_MAX_LOCKOUT_SECONDS'],
        message: `must be at least LOGIN_LOCKOUT_SECONDS (${env.LOGIN_LOCKOUT_SECONDS})`,
      });
    }
    // A lockout is counted from attempts inside the window; one longer than the window would
    // end early when the attempts behind it are forgotten.
    if (env.LOGIN_FAILURE_WINDOW_SECONDS < env.LOGIN_MAX_LOCKOUT_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['LOGIN_FAILURE_WINDOW_SECONDS'],
        message: `must be at least LOGIN_MAX_LOCKOUT_SECONDS (${env.LOGIN_MAX_LOCKOUT_SECONDS})`,
      });
    }
  });

/**
 * Every variable the users subgraph reads. The parser ignores any other, so a deployment that
 * sets one has a typo: the Helm chart's test checks every name it gives the pods against this.
 */
export const USERS_ENV_NAMES: readonly string[] = Object.freeze(Object.keys(Env.shape));

export interface UsersConfig extends SubgraphSettings {
  readonly port: number;
  readonly database: string;
  readonly jwt: {
    readonly issuer: string;
    readonly audience: string;
    readonly ttlSeconds: number;
    readonly alg: 'EdDSA' | 'ES256';
    readonly privateKeyPem: string | undefined;
    /** A public key published and trusted beside the signing key: the one before a rotation. */
    readonly previousPublicKeyPem: string | undefined;
    readonly refreshTtlSeconds: number;
  };
  readonly loginThrottle: LoginThrottleSettings;
  /** How long a device token (auth/deviceTokens.ts) keeps a device trusted. */
  readonly deviceTokenTtlSeconds: number;
  readonly passwordHashing: PasswordHashingLimits;
  readonly dataDir: string;
  /** The users created on first start. In production only those whose password is configured. */
  readonly seeds: readonly SeedUser[];
}

export interface SeedUser {
  readonly username: string;
  readonly password: string;
  readonly fullName: string | null;
  readonly email: string | null;
  readonly role: 'ADMIN' | 'USER';
}

/** Reads the users subgraph's configuration from the environment, once. */
export function loadUsersConfig(
  environment: Readonly<Record<string, string | undefined>> = process.env,
): UsersConfig {
  const env = parseEnv(Env, environment);
  const production = env.NODE_ENV === 'production';
  // Issue #2: the demo passwords "a" and "u" are for development only; production seeds only
  // the accounts whose password it is given.
  const adminPassword = production ? env.SEED_ADMIN_PASSWORD : (env.SEED_ADMIN_PASSWORD ?? 'a');
  const userPassword = production ? env.SEED_USER_PASSWORD : (env.SEED_USER_PASSWORD ?? 'u');
  const seeds: SeedUser[] = [];
  if (adminPassword) {
    seeds.push({
      username: 'admin',
      password: adminPassword,
      fullName: 'Admin Admin',
      email: 'admin@example.com',
      role: 'ADMIN',
    });
  }
  if (userPassword) {
    seeds.push({
      username: 'user',
      password: userPassword,
      fullName: null,
      email: null,
      role: 'USER',
    });
  }
  return Object.freeze({
    ...subgraphSettings(env),
    port: env.USERS_PORT,
    database: env.USERS_DB,
    jwt: {
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      ttlSeconds: env.JWT_TTL_SECONDS,
      alg: env.JWT_ALG,
      privateKeyPem: env.JWT_PRIVATE_KEY,
      previousPublicKeyPem: env.JWT_PREVIOUS_PUBLIC_KEY,
      refreshTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
    },
    loginThrottle: {
      maxFailuresPerUsername: env.LOGIN_MAX_FAILURES_PER_USERNAME,
      maxFailuresPerIp: env.LOGIN_MAX_FAILURES_PER_IP,
      maxLoginsPerIp: env.LOGIN_MAX_PER_IP,
      windowSeconds: env.LOGIN_FAILURE_WINDOW_SECONDS,
      lockoutSeconds: env.LOGIN_LOCKOUT_SECONDS,
      maxLockoutSeconds: env.LOGIN_MAX_LOCKOUT_SECONDS,
    },
    deviceTokenTtlSeconds: env.LOGIN_DEVICE_TOKEN_TTL_SECONDS,
    passwordHashing: {
      maxConcurrent: env.PASSWORD_HASH_CONCURRENCY,
      maxQueued: env.PASSWORD_HASH_QUEUE,
    },
    dataDir: resolve(env.DATA_DIR),
    seeds,
  });
}
