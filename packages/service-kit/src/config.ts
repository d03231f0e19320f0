import { z } from 'zod';
import { LOG_LEVELS } from './logger.js';

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
