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
 * A JSON-lines logger: one object a line, so a log shipper can parse it. Also satisfies Apollo's
 * `Logger` interface, so Apollo Server and the gateway log through it.
 *
 * Callers pass fields, never whole request bodies or documents: that is how we keep passwords and
 * password hashes out of the log.
 */
export function createLogger(service: string, level: LogLevel = 'info'): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const write = (
    lvl: Exclude<LogLevel, 'silent'>,
    message: string,
    fields?: Record<string, unknown>,
  ) => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    const line = JSON.stringify({
      time: new Date().toISOString(),
      level: lvl,
      service,
      message,
      ...fields,
    });
    (lvl === 'error' || lvl === 'warn' ? process.stderr : process.stdout).write(line + '\n');
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}

/** Describes an unknown thrown value for the log, keeping the stack there and away from clients. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.message, name: error.name, stack: error.stack };
  return { error: String(error) };
}
