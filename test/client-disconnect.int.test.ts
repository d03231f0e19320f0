import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';

/** A client that goes away mid-request is ordinary traffic, not an incident in the log. */
let graph: RunningGraph;
beforeAll(async () => {
  graph = await startGraph('client_disconnect');
});
afterAll(() => graph?.stop());

describe('a client that disconnects in the middle of its body', () => {
  it('is logged at info without a stack, and the router goes on answering', async () => {
    const { port } = new URL(graph.routerUrl);
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          'POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"query":"{ __typename',
        );
        setTimeout(() => socket.resetAndDestroy(), 100);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => {});
    });
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(graph.logs.filter((entry) => entry.level === 'error')).toEqual([]);
    const entry = graph.logs.find(
      (logged) => logged.message === 'client disconnected before the request ended',
    );
    expect(entry?.level).toBe('info');
    expect(JSON.stringify(entry?.fields)).not.toContain('stack');
    expectOk(await graph.request(graph.routerUrl, '{ __typename }'));
  });
});
