import { z } from 'zod';
import { DEFAULT_MAX_SKEW_SECONDS } from '@supergraph/identity';
import {
  identitySigningSecret,
  positiveInt,
  serviceEnv,
  serviceSettings,
  type LogLevel,
} from '@supergraph/service-kit';

/** Variables every subgraph reads, beside its port and database name. */
export const subgraphEnv = {
  ...serviceEnv,
  MONGODB_URI: z
    .string({ error: 'is required (npm start provides one in development)' })
    .regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI'),
  IDENTITY_SIGNING_SECRET: identitySigningSecret,
  IDENTITY_MAX_SKEW_SECONDS: positiveInt(DEFAULT_MAX_SKEW_SECONDS),
  MAX_BODY_BYTES: positiveInt(1024 * 1024),
};

export interface SubgraphSettings {
  readonly production: boolean;
  readonly logLevel: LogLevel;
  readonly host: string;
  readonly mongodbUri: string;
  /** How this subgraph checks the router's signature. */
  readonly identity: { readonly secret: string; readonly maxSkewSeconds: number };
  readonly maxBodyBytes: number;
}

/** The config fields every subgraph has, from an environment parsed with `subgraphEnv`. */
export function subgraphSettings(env: {
  NODE_ENV: string;
  LOG_LEVEL: LogLevel;
  HOST: string;
  MONGODB_URI: string;
  IDENTITY_SIGNING_SECRET: string;
  IDENTITY_MAX_SKEW_SECONDS: number;
  MAX_BODY_BYTES: number;
}): SubgraphSettings {
  return {
    ...serviceSettings(env),
    mongodbUri: env.MONGODB_URI,
    identity: {
      secret: env.IDENTITY_SIGNING_SECRET,
      maxSkewSeconds: env.IDENTITY_MAX_SKEW_SECONDS,
    },
    maxBodyBytes: env.MAX_BODY_BYTES,
  };
}
