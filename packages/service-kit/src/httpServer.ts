import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode, HttpError } from './errors.js';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** What `/health/ready` reports: whether the service can do its job now, and why not. */
export interface Readiness {
  readonly ready: boolean;
  /** One entry per dependency, `true` when it is fine, or a sentence saying what is wrong. */
  readonly checks: Readonly<Record<string, true | string>>;
}

export type ReadinessCheck = () => Promise<Readiness> | Readiness;

export interface ListenOptions {
  host: string;
  port: number;
  graphqlPath?: string;
  /** Asked on every `/health/ready`; without it a serving instance is ready. */
  readiness?: ReadinessCheck;
}

export interface RunningHttpServer {
  readonly server: Server;
  readonly port: number;
  /** The GraphQL endpoint's URL, e.g. http://localhost:4000/graphql. */
  readonly url: string;
  /**
   * Starts serving requests with `listener` (and `readiness`, if given): for a service that
   * listens before its dependencies are up, so that its probes answer while it waits.
   */
  serve(listener: RequestListener, readiness?: ReadinessCheck): void;
  /**
   * Drains, in two steps. First readiness turns false while everything else goes on as before
   * for `delayMs`, so that a load balancer that polls `/health/ready` stops sending here before
   * anything is refused. Then no connection is accepted any more, requests already running
   * finish (up to `graceMs`, then their sockets are cut), a request that arrives on a socket
   * already accepted is still served, with `Connection: close`, and idle sockets are closed.
   * Resolves when no connection is left.
   */
  close(graceMs?: number, delayMs?: number): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

/** How long `/health/ready` waits for a check before it reports the service as not ready. */
const READINESS_TIMEOUT_MS = 2_000;

/**
 * Listens on `host:port` (port 0 picks a free one, which is what tests do) and answers the
 * health routes itself, before and beside the service's own listener:
 *
 * - `/health/live` (and `/health`, for older healthchecks): the process is running;
 * - `/health/ready`: the service can do its job (200), or it cannot, is starting or is draining
 *   (503), with a check-by-check report.
 *
 * `listener` may be omitted and given later to `serve`.
 */
export async function listen(
  listener: RequestListener | undefined,
  { host, port, graphqlPath = '/graphql', readiness }: ListenOptions,
): Promise<RunningHttpServer> {
  let current = listener;
  let check = readiness;
  /** A drain has begun: readiness says so. */
  let leaving = false;
  /** The listener is closed: every response lets its socket go. */
  let draining = false;
  const active = new Set<ServerResponse>();
  /** Requests running on each socket. */
  const running = new WeakMap<Socket, number>();

  const server = createServer((req, res) => {
    // Past this point a drain has begun: let the socket go after this response.
    if (draining) res.setHeader('connection', 'close');
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/health/live' || path === '/health') {
      return sendJson(res, 200, '{"status":"ok"}');
    }
    if (path === '/health/ready') return void answerReadiness(res);
    // A request that reached an accepted socket, even during a drain, was sent to this
    // instance: refusing it (or cutting it) would leave the client not knowing whether it ran.
    // New sockets are no longer accepted, and each one still open closes after its response.
    // Only a request pipelined behind one still running is not run: its socket closes after
    // that one's response, so its own answer could never be delivered.
    if (draining && (running.get(req.socket) ?? 0) > 0) {
      return refuse(
        res,
        'This instance is shutting down. Retry the request: another one takes it.',
      );
    }
    if (!current) return refuse(res, 'This service is starting. Retry the request shortly.');
    active.add(res);
    running.set(req.socket, (running.get(req.socket) ?? 0) + 1);
    res.once('close', () => {
      active.delete(res);
      running.set(req.socket, (running.get(req.socket) ?? 1) - 1);
      // A kept-alive socket whose last response ends during a drain has nothing left to do.
      if (draining) server.closeIdleConnections();
    });
    current(req, res);
  });
  // Node reads a socket's peer address when first asked and keeps it; asked after a client
  // reset the socket, it is undefined. Asked here, on arrival, it stays known for every request
  // on the socket, which matters for the logins throttled by address.
  server.on('connection', (socket) => void socket.remoteAddress);
  // Bound how long a slow client can hold a connection (slowloris); Node's default is 5 minutes.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  async function answerReadiness(res: ServerResponse): Promise<void> {
    const report: Readiness = leaving
      ? { ready: false, checks: { server: 'shutting down' } }
      : !current
        ? { ready: false, checks: { server: 'starting' } }
        : check
          ? await withTimeout(check)
          : { ready: true, checks: {} };
    sendJson(
      res,
      report.ready ? 200 : 503,
      JSON.stringify({ status: report.ready ? 'ready' : 'unavailable', checks: report.checks }),
    );
  }

  const { port: actualPort, displayHost } = await listenOn(server, port, host);

  let closed: Promise<void> | undefined;
  return {
    server,
    port: actualPort,
    url: `http://${displayHost}:${actualPort}${graphqlPath}`,
    serve(next, nextReadiness) {
      current = next;
      check = nextReadiness ?? check;
    },
    close: (graceMs = 10_000, delayMs = 0) =>
      (closed ??= (async () => {
        leaving = true;
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        await new Promise<void>((resolve) => {
          draining = true;
          // Responses not yet started close their socket when they end.
          for (const res of active) if (!res.headersSent) res.setHeader('connection', 'close');
          const force = setTimeout(() => server.closeAllConnections(), graceMs);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
      })()),
  };
}

/**
 * Starts `server` on `host:port` and says where it listens: the port (port 0 picks a free one)
 * and the host to put in a URL (`localhost` for a wildcard address).
 */
export async function listenOn(
  server: Server,
  port: number,
  host: string,
): Promise<{ port: number; displayHost: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return {
    port: address.port,
    displayHost: host === '0.0.0.0' || host === '::' ? 'localhost' : host,
  };
}

async function withTimeout(check: ReadinessCheck): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Readiness>((resolve) => {
    timer = setTimeout(
      () => resolve({ ready: false, checks: { readiness: 'the check did not answer in time' } }),
      READINESS_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]).catch((error: unknown) => ({
      ready: false,
      checks: { readiness: error instanceof Error ? error.message : String(error) },
    }));
  } finally {
    clearTimeout(timer);
  }
}

function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, JSON_HEADERS);
  res.end(body);
}

function refuse(res: ServerResponse, message: string): void {
  const error = new HttpError(503, ErrorCode.SERVICE_UNAVAILABLE, message);
  res.writeHead(503, { ...JSON_HEADERS, 'retry-after': '1' });
  res.end(error.toBody());
}
