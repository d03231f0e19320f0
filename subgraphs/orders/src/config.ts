import { z } from 'zod';
import { DEFAULT_MAX_SKEW_SECONDS, MIN_SECRET_LENGTH } from '@supergraph/identity';
import { logLevel, nodeEnv, parseEnv, port, positiveInt } from '@supergraph/service-kit';

const Env = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  HOST: z.string().default('127.0.0.1'),
  ORDERS_PORT: port(4002),
  MONGODB_URI: z
    .string({ error: 'is required (npm start provides one in development)' })
    .regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI'),
  ORDERS_DB: z.string().default('orders'),
  IDENTITY_SIGNING_SECRET: z
    .string({
      error:
        'is required: the secret shared with the router (npm start generates one in development)',
    })
    .min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`),
  IDENTITY_MAX_SKEW_SECONDS: positiveInt(DEFAULT_MAX_SKEW_SECONDS),
  MAX_BODY_BYTES: positiveInt(1024 * 1024),
});

export interface OrdersConfig {
  readonly logLevel: z.infer<typeof logLevel>;
  readonly host: string;
  readonly port: number;
  readonly mongodbUri: string;
  readonly database: string;
  readonly identity: { readonly secret: string; readonly maxSkewSeconds: number };
  readonly maxBodyBytes: number;
}

/** Reads the orders subgraph's configuration from the environment, once. */
export function loadOrdersConfig(
  environment: Readonly<Record<string, string | undefined>> = process.env,
): OrdersConfig {
  const env = parseEnv(Env, environment);
  return Object.freeze({
    logLevel: env.LOG_LEVEL,
    host: env.HOST,
    port: env.ORDERS_PORT,
    mongodbUri: env.MONGODB_URI,
    database: env.ORDERS_DB,
    identity: {
      secret: env.IDENTITY_SIGNING_SECRET,
      maxSkewSeconds: env.IDENTITY_MAX_SKEW_SECONDS,
    },
    maxBodyBytes: env.MAX_BODY_BYTES,
  });
}
