import { ConfigError } from './config.js';
import { describeError, type Logger } from './logger.js';

/**
 * Runs a service's `main`, and the cleanup it returns on SIGINT or SIGTERM. A configuration
 * error is printed as the one message a person needs, without a stack trace, and exits 1.
 */
export async function runService(
  main: () => Promise<{ logger: Logger; stop: () => Promise<void> }>,
): Promise<void> {
  let running: Awaited<ReturnType<typeof main>>;
  try {
    running = await main();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(
        `${JSON.stringify({ level: 'error', message: 'failed to start', ...describeError(error) })}\n`,
      );
    }
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.logger.info('shutting down', { signal });
    try {
      await running.stop();
      process.exit(0);
    } catch (error) {
      running.logger.error('shutdown failed', describeError(error));
      process.exit(1);
    }
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
