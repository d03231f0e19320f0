import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_MAX_SKEW_SECONDS, MIN_SECRET_LENGTH } from '@supergraph/identity';
import { logLevel, nodeEnv, parseEnv, port, positiveInt } from '@supergraph/service-kit';

/** The issuer and audience the router expects by default; keep in sync with router/src/config.ts. */
export const DEFAULT_JWT_ISSUER = 'urn:supergraph:users';
export const DEFAULT_JWT_AUDIENCE = 'supergraph';

const Env = z
  .object({
    NODE_ENV: nodeEnv,
    LOG_LEVEL: logLevel,
    HOST: z.string().default('127.0.0.1'),
    USERS_PORT: port(4001),
    MONGODB_URI: z
      .string({ error: 'is required (npm start provides one in development)' })
      .regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI'),
    USERS_DB: z.string().default('users'),
    IDENTITY_SIGNING_SECRET: z
      .string({
        error:
          'is required: the secret shared with the router (npm start generates one in development)',
      })
      .min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`),
    IDENTITY_MAX_SKEW_SECONDS: positiveInt(DEFAULT_MAX_SKEW_SECONDS),
    JWT_ISSUER: z.string().default(DEFAULT_JWT_ISSUER),
    JWT_AUDIENCE: z.string().default(DEFAULT_JWT_AUDIENCE),
    JWT_TTL_SECONDS: positiveInt(15 * 60),
    JWT_ALG: z.enum(['EdDSA', 'ES256']).default('EdDSA'),
    JWT_PRIVATE_KEY: z.string().optional(),
    DATA_DIR: z.string().default('.data'),
    SEED_ADMIN_PASSWORD: z.string().optional(),
    SEED_USER_PASSWORD: z.string().optional(),
    MAX_BODY_BYTES: positiveInt(1024 * 1024),
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
  });

export interface UsersConfig {
  readonly production: boolean;
  readonly logLevel: z.infer<typeof logLevel>;
  readonly host: string;
  readonly port: number;
  readonly mongodbUri: string;
  readonly database: string;
  readonly identity: { readonly secret: string; readonly maxSkewSeconds: number };
  readonly jwt: {
    readonly issuer: string;
    readonly audience: string;
    readonly ttlSeconds: number;
    readonly alg: 'EdDSA' | 'ES256';
    readonly privateKeyPem: string | undefined;
  };
  readonly dataDir: string;
  /** The users created on first start. In production only those whose password is configured. */
  readonly seeds: readonly SeedUser[];
  readonly maxBodyBytes: number;
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
    production,
    logLevel: env.LOG_LEVEL,
    host: env.HOST,
    port: env.USERS_PORT,
    mongodbUri: env.MONGODB_URI,
    database: env.USERS_DB,
    identity: {
      secret: env.IDENTITY_SIGNING_SECRET,
      maxSkewSeconds: env.IDENTITY_MAX_SKEW_SECONDS,
    },
    jwt: {
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      ttlSeconds: env.JWT_TTL_SECONDS,
      alg: env.JWT_ALG,
      privateKeyPem: env.JWT_PRIVATE_KEY,
    },
    dataDir: resolve(env.DATA_DIR),
    seeds,
    maxBodyBytes: env.MAX_BODY_BYTES,
  });
}
