import { ConfigError } from './config.js';
import {
  listen,
  type ListenOptions,
  type RequestListener,
  type RunningHttpServer,
} from './httpServer.js';
import { describeError, type Logger } from './logger.js';

/** What a service's `main` gets: the HTTP server to listen with, and the signal to give up on. */
export interface ServiceRuntime {
  /**
   * Listens, and registers the server for the drain on SIGTERM. Pass no listener to answer
   * health probes while the service is still waiting for its dependencies (then `serve`).
   */
  listen(listener: RequestListener | undefined, options: ListenOptions): Promise<RunningHttpServer>;
  /** Aborted on SIGINT or SIGTERM: a start that is still waiting should stop waiting. */
  readonly signal: AbortSignal;
}

export interface RunningService {
  readonly logger: Logger;
  /** How long in-flight requests may take to finish after SIGTERM. */
  readonly shutdownGraceMs: number;
  /** How long after SIGTERM new connections are still taken, readiness already false. */
  readonly shutdownDelayMs?: number;
  /** Releases what the service holds (Apollo Server, MongoDB) once its requests are done. */
  stop(): Promise<void>;
}

/**
 * Runs a service's `main` and owns its shutdown: the one handler of SIGINT and SIGTERM in the
 * process (Apollo Server's own are turned off with `stopOnTerminationSignals: false`, since they
 * stop the server and re-raise the signal before any request could finish).
 *
 * On a signal, every server `main` listened with drains (see `RunningHttpServer.close`), then
 * `stop` runs and the process exits 0. A configuration error is printed as the one message a
 * person needs, without a stack trace, and exits 1.
 */
export async function runService(
  main: (runtime: ServiceRuntime) => Promise<RunningService>,
): Promise<void> {
  const servers: RunningHttpServer[] = [];
  const abort = new AbortController();
  let running: RunningService | undefined;
  let stopping = false;

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    abort.abort();
    if (!running) {
      // Still starting (waiting for its database, say): nothing is in flight to wait for.
      await Promise.all(servers.map((server) => server.close(0)));
      process.stderr.write(
        `${JSON.stringify({ level: 'info', message: 'stopped before it was ready', signal })}\n`,
      );
      process.exit(0);
    }
    const { logger, shutdownGraceMs, shutdownDelayMs = 0 } = running;
    logger.info('draining', { signal, graceMs: shutdownGraceMs, delayMs: shutdownDelayMs });
    try {
      await Promise.all(servers.map((server) => server.close(shutdownGraceMs, shutdownDelayMs)));
      await running.stop();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error('shutdown failed', describeError(error));
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    running = await main({
      signal: abort.signal,
      listen: async (listener, options) => {
        const server = await listen(listener, options);
        servers.push(server);
        return server;
      },
    });
  } catch (error) {
    if (stopping) return; // the signal handler exits
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(
        `${JSON.stringify({ level: 'error', message: 'failed to start', ...describeError(error) })}\n`,
      );
    }
    process.exit(1);
  }
}

/**
 * Calls `attempt` until it succeeds, waiting longer after each failure (0.5 s doubling to 10 s,
 * with jitter so that replicas do not retry in step), and logging each failure in one line.
 * Gives up only when `signal` is aborted.
 */
export async function retryUntilDone<T>(
  what: string,
  attempt: () => Promise<T>,
  { logger, signal }: { logger: Logger; signal: AbortSignal },
): Promise<T> {
  for (let failures = 0; ; failures += 1) {
    signal.throwIfAborted();
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted) throw error;
      const delayMs = Math.min(10_000, 500 * 2 ** failures) * (0.75 + Math.random() / 2);
      logger.warn(`${what} failed; retrying`, {
        error: error instanceof Error ? error.message : String(error),
        retryInMs: Math.round(delayMs),
      });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }
}
