import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listen } from './httpServer.js';

/** Sends raw bytes on one socket and resolves with everything the server wrote before closing. */
function exchange(port: number, bytes: string, onWritten?: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(bytes);
      onWritten?.();
    });
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('listen', () => {
  it('answers liveness at once, and readiness only once it serves and its check passes', async () => {
    let databaseUp = false;
    const server = await listen(undefined, { host: '127.0.0.1', port: 0 });
    const get = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
      return { status: response.status, body: await response.json() };
    };
    expect(await get('/health/live')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get('/health')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get('/health/ready')).toEqual({
      status: 503,
      body: { status: 'unavailable', checks: { server: 'starting' } },
    });
    expect(await get('/graphql')).toMatchObject({
      status: 503,
      body: { errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }] },
    });

    server.serve(
      (_req, res) => res.end('served'),
      () => ({ ready: databaseUp, checks: { mongodb: databaseUp || 'down' } }),
    );
    expect(await get('/health/ready')).toMatchObject({
      status: 503,
      body: { checks: { mongodb: 'down' } },
    });
    databaseUp = true;
    expect(await get('/health/ready')).toEqual({
      status: 200,
      body: { status: 'ready', checks: { mongodb: true } },
    });
    await server.close(1_000);
  });

  it('during a drain: the request in flight finishes with Connection: close, and nothing more runs on its socket', async () => {
    const pending: (() => void)[] = [];
    const server = await listen(
      (_req, res) => void pending.push(() => res.end('the real answer')),
      {
        host: '127.0.0.1',
        port: 0,
      },
    );
    const request = 'POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n';
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.write(request));
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      setTimeout(() => {
        void server.close(5_000);
        // A second request on the kept-alive socket, after the drain began.
        socket.write(request);
        setTimeout(() => pending.shift()?.(), 100);
      }, 100);
    });
    const responses = text.split(/(?=HTTP\/1\.1 )/);
    // The client learns from the answer that the socket is done; whatever it sent after is its
    // to retry elsewhere, and never half-runs here.
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200/);
    expect(responses[0]).toMatch(/connection: close/i);
    expect(responses[0]).toContain('the real answer');
    expect(pending).toHaveLength(0);
  });

  it('keeps serving new connections for the delay while readiness already says it is leaving', async () => {
    const server = await listen((_req, res) => res.end('served'), { host: '127.0.0.1', port: 0 });
    const closing = server.close(5_000, 300);
    const ready = await fetch(`http://127.0.0.1:${server.port}/health/ready`);
    expect(ready.status).toBe(503);
    // A load balancer that has not polled yet still sends here: the request is served.
    const answer = await fetch(`http://127.0.0.1:${server.port}/graphql`, { method: 'POST' });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('served');
    await closing;
  });

  it('serves a request that reached an accepted socket after the drain began, then lets it go', async () => {
    const server = await listen((_req, res) => res.end('served'), { host: '127.0.0.1', port: 0 });
    const text = await new Promise<string>((resolve, reject) => {
      // Accepted before the drain, its request sent after: refusing it would leave the client
      // not knowing whether it ran.
      const socket = connect(server.port, '127.0.0.1', () => {
        void server.close(5_000);
        setTimeout(
          () => socket.write('POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n'),
          50,
        );
      });
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toMatch(/connection: close/i);
    expect(text).toContain('served');
  });

  it('cuts requests still running when the grace ends', async () => {
    const server = await listen(() => {}, { host: '127.0.0.1', port: 0 });
    const received = exchange(
      server.port,
      'GET /graphql HTTP/1.1\r\nhost: x\r\n\r\n',
      () => void setTimeout(() => void server.close(200), 50),
    );
    const startedAt = Date.now();
    expect(await received).toBe('');
    expect(Date.now() - startedAt).toBeLessThan(2_000);
  });
});
