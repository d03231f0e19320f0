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
  // The longest a request waits on MongoDB before it gets SERVICE_UNAVAILABLE (see
  // service-kit's createMongoClient). Keep it under half the router's SUBGRAPH_TIMEOUT_MS, so
  // that during an outage the router hears this subgraph's answer instead of timing out.
  MONGODB_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
};

export interface SubgraphSettings {
  readonly production: boolean;
  readonly logLevel: LogLevel;
  readonly host: string;
  readonly mongodbUri: string;
  readonly mongodbTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly shutdownDelayMs: number;
  /** Where `/metrics` is served (on `host`); undefined: nowhere. */
  readonly metricsPort: number | undefined;
  /** How this subgraph checks the router's signature. */
  readonly identity: { readonly secret: string; readonly maxSkewSeconds: number };
  readonly maxBodyBytes: number;
}

/** The config fields every subgraph has, from an environment parsed with `subgraphEnv`. */
export function subgraphSettings(env: {
  NODE_ENV: string;
  LOG_LEVEL: LogLevel;
  HOST: string;
  SHUTDOWN_GRACE_MS: number;
  SHUTDOWN_DELAY_MS: number;
  METRICS_PORT?: number | undefined;
  MONGODB_URI: string;
  MONGODB_TIMEOUT_MS: number;
  IDENTITY_SIGNING_SECRET: string;
  IDENTITY_MAX_SKEW_SECONDS: number;
  MAX_BODY_BYTES: number;
}): SubgraphSettings {
  return {
    ...serviceSettings(env),
    mongodbUri: env.MONGODB_URI,
    mongodbTimeoutMs: env.MONGODB_TIMEOUT_MS,
    identity: {
      secret: env.IDENTITY_SIGNING_SECRET,
      maxSkewSeconds: env.IDENTITY_MAX_SKEW_SECONDS,
    },
    maxBodyBytes: env.MAX_BODY_BYTES,
  };
}
