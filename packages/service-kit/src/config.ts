import { z } from 'zod';
import { MIN_SECRET_LENGTH } from '@supergraph/identity';
import { LOG_LEVELS, type LogLevel } from './logger.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment against a schema, once, into a frozen object. On failure the message
 * names every offending variable, so a misconfigured container says what to fix and exits.
 */
export function parseEnv<T extends z.ZodType>(
  schema: T,
  env: Readonly<Record<string, string | undefined>>,
): Readonly<z.infer<T>> {
  // An empty variable means "not set": compose files and .env files write `FOO=` for "use the default".
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = schema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(environment)'}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return Object.freeze(result.data);
}

export const nodeEnv = z.enum(['development', 'production', 'test']).default('development');
export const logLevel = z.enum(LOG_LEVELS).default('info');
export const port = (fallback: number) =>
  z.coerce.number().int().min(0).max(65_535).default(fallback);
export const positiveInt = (fallback: number) =>
  z.coerce.number().int().positive().default(fallback);
export const httpUrl = z.url({ protocol: /^https?$/ });

/** Variables every service reads. Spread into a service's schema: `z.object({ ...serviceEnv, ... })`. */
export const serviceEnv = {
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  // Loopback unless told otherwise: containers set 0.0.0.0, a laptop should not expose the graph.
  HOST: z.string().default('127.0.0.1'),
  // How long requests in flight at SIGTERM may take to finish. Keep it below the orchestrator's
  // grace (Kubernetes' terminationGracePeriodSeconds, Compose's stop_grace_period, 30 s and 10 s).
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  // How long after SIGTERM an instance still takes new connections while its readiness already
  // says it is leaving: at least the interval at which a load balancer in front polls
  // /health/ready, so that it stops sending before anything is refused. Kubernetes' preStop
  // sleep does the same (the chart's); 0 there.
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  // Prometheus metrics on a port of their own, never the public GraphQL one. No default: a
  // service exposes them only where someone decided to (npm start sets 9090-9092).
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
};

/** `IDENTITY_SIGNING_SECRET`: the router-to-subgraph HMAC secret, shared by all three services. */
export const identitySigningSecret = z
  .string({
    error:
      'is required: the secret the router and subgraphs share (npm start generates one in development)',
  })
  .min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`);

/** The part of a parsed `serviceEnv` that every service's config object carries. */
export function serviceSettings(env: {
  NODE_ENV: string;
  LOG_LEVEL: LogLevel;
  HOST: string;
  SHUTDOWN_GRACE_MS: number;
  SHUTDOWN_DELAY_MS: number;
  METRICS_PORT?: number | undefined;
}) {
  return {
    production: env.NODE_ENV === 'production',
    logLevel: env.LOG_LEVEL,
    host: env.HOST,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    shutdownDelayMs: env.SHUTDOWN_DELAY_MS,
    /** Where `/metrics` is served (on `host`); undefined: nowhere. */
    metricsPort: env.METRICS_PORT,
  };
}
