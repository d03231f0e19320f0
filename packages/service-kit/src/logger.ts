import { pino, stdTimeFunctions, type DestinationStream } from 'pino';
import { currentRequestContext } from './requestContext.js';

/** Levels in increasing severity; `LOG_LEVEL` picks the lowest one that is written. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Field names whose values never reach a log line, whatever the level and at any depth:
 * credentials a client sends (headers, passwords, tokens) and the services' own secrets (the
 * identity signing secret, the JWT private key, the router's signature on a subgraph request).
 * Compared without regard to case, so `Authorization` is caught as well as `authorization`.
 */
export const REDACTED_FIELDS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'password',
  'currentPassword',
  'newPassword',
  'accessToken',
  'refreshToken',
  'token',
  'deviceToken',
  'IDENTITY_SIGNING_SECRET',
  'secret',
  'JWT_PRIVATE_KEY',
  'privateKey',
  'privateKeyPem',
  'x-identity-signature',
];

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Secrets recognised by their shape, wherever they are in a string: an error message that quotes
 * a header, a driver error that quotes a config value. PEM blocks (a private key, even cut off),
 * `Bearer` credentials, JWTs (our access tokens), and the router's `v3=<hex>` signatures.
 */
const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/-----BEGIN[^-]*-----[\s\S]*?(?:-----END[^-]*-----|$)/g, '[redacted PEM]'],
  [/\b(Bearer|Basic)\s+[^\s"',;]+/gi, `$1 ${REDACTED}`],
  [/\beyJ[\w-]*\.[\w-]+\.[\w-]*/g, '[redacted JWT]'],
  [/\bv\d+=[0-9a-f]{64}\b/g, '[redacted signature]'],
];

/** Nested deeper than this, a field is cut: log fields are small by design. */
const MAX_DEPTH = 8;

export interface LoggerOptions {
  /** Where the lines go; stdout by default. Tests pass a collector. */
  destination?: DestinationStream;
  /** The field names to redact; `REDACTED_FIELDS` by default. */
  redact?: readonly string[];
}

/**
 * A JSON-lines logger on pino: one object a line on stdout, with `time` (ISO 8601), `level`
 * (`debug`, `info`, `warn`, `error`), `service`, `message`, the request id of the request being
 * handled (`requestId`, see requestContext.ts) and the caller's fields. Also satisfies Apollo's
 * `Logger` interface, so Apollo Server and the gateway log through it.
 *
 * Callers pass fields, never whole request bodies or documents. Behind that, two nets, cast
 * over every line before pino sees it: fields named in `redact` are replaced at any depth, and
 * strings anywhere in a line, the message included, lose what looks like a private key, a bearer
 * credential, a JWT or a signature. (pino's own `redact` would look again, at two levels, for
 * fields already gone, on every line: it is not used.)
 */
export function createLogger(
  service: string,
  level: LogLevel = 'info',
  options: LoggerOptions = {},
): Logger {
  const redactedFields = options.redact ?? REDACTED_FIELDS;
  const redacted = new Set(redactedFields.map((name) => name.toLowerCase()));
  const pinoLogger = pino(
    {
      level,
      base: { service },
      messageKey: 'message',
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => {
        const context = currentRequestContext();
        return context ? { requestId: context.requestId } : {};
      },
    },
    options.destination ?? process.stdout,
  );

  const write =
    (lvl: Exclude<LogLevel, 'silent'>) =>
    (message: unknown, fields?: Record<string, unknown>): void => {
      if (!pinoLogger.isLevelEnabled(lvl)) return;
      // Apollo's loggers are sometimes handed an Error or several arguments instead of a string.
      const text =
        typeof message === 'string'
          ? message
          : message instanceof Error
            ? `${message.name}: ${message.message}`
            : String(message);
      const scrubbed = scrub(fields ?? {}, redacted, 0, new WeakSet());
      pinoLogger[lvl](isRecord(scrubbed) ? scrubbed : {}, scrubString(text));
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function scrubString(value: string): string {
  let result = value;
  for (const [pattern, replacement] of SECRET_PATTERNS)
    result = result.replace(pattern, replacement);
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * A copy of `value` without redacted fields and with secret-looking strings replaced. Plain
 * objects, arrays and errors are walked; other objects (an ObjectId, a Date) are left to their
 * own `toJSON`.
 */
function scrub(
  value: unknown,
  redacted: ReadonlySet<string>,
  depth: number,
  seen: WeakSet<object>,
): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  const next = (item: unknown) => scrub(item, redacted, depth + 1, seen);
  let copy: unknown = value;
  if (Array.isArray(value)) copy = value.map(next);
  else if (value instanceof Error) {
    copy = { name: value.name, message: scrubString(value.message), stack: next(value.stack) };
  } else if (isRecord(value)) {
    const fields: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      fields[key] = redacted.has(key.toLowerCase()) ? REDACTED : next(item);
    }
    copy = fields;
  }
  // Only the ancestors count: the same object twice side by side is not a cycle.
  seen.delete(value);
  return copy;
}

/** Describes an unknown thrown value for the log, keeping the stack there and away from clients. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.message, name: error.name, stack: error.stack };
  return { error: String(error) };
}
