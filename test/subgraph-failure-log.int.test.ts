import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraph, type RunningGraph } from './graph.js';

/** An operator reading the router's log during an outage learns the cause, once per request. */
let graph: RunningGraph;
beforeAll(async () => {
  graph = await startGraph('subgraph_failure_log');
});
afterAll(() => graph?.stop());

describe('a subgraph that is down', () => {
  it('is logged once per request, with its real cause and no stack', async () => {
    const { token } = await graph.login('user', 'u');
    await graph.stopSubgraph('orders');
    const before = graph.logs.length;
    await graph.request(graph.routerUrl, '{ me { orders(first: 1) { edges { node { id } } } } }', {
      token,
    });
    const failures = graph.logs
      .slice(before)
      .filter((entry) => entry.message === 'subgraph request failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]?.level).toBe('error');
    expect(failures[0]?.fields).toMatchObject({
      subgraph: 'orders',
      error: expect.stringMatching(/ECONNREFUSED/),
      code: 'ECONNREFUSED',
    });
    expect(failures[0]?.fields).not.toHaveProperty('stack');
    expect(JSON.stringify(failures[0]?.fields)).not.toContain('[object Object]');
  });
});
