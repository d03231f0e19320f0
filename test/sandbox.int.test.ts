import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';

/** Apollo Sandbox and introspection: on in development, off in production (issue #3). */
const openInBrowser = (graph: RunningGraph) =>
  fetch(graph.routerUrl, { headers: { accept: 'text/html' } });

describe('in development', () => {
  let graph: RunningGraph;
  beforeAll(async () => {
    graph = await startGraph('sandbox_dev', { routerEnv: { NODE_ENV: 'development' } });
  });
  afterAll(() => graph?.stop());

  it('serves Apollo Sandbox at the router URL, embedded, prefilled with a login and a second operation', async () => {
    const response = await openInBrowser(graph);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const html = await response.text();
    expect(html).toContain('embeddable-sandbox');
    expect(html).toMatch(/mutation Login/);
    expect(html).toMatch(/query MyOrders/);
  });

  it("turns off the Sandbox embed's own telemetry", async () => {
    const html = await (await openInBrowser(graph)).text();
    expect(html).toContain('"runTelemetry":false');
    expect(html).not.toContain('"runTelemetry":true');
  });
});

describe('in production', () => {
  let graph: RunningGraph;
  beforeAll(async () => {
    // allow mode, so that the refusals below come from introspection being off, not the safelist.
    graph = await startGraph('sandbox_prod', {
      routerEnv: { NODE_ENV: 'production', PERSISTED_DOCUMENTS_MODE: 'allow' },
    });
  });
  afterAll(() => graph?.stop());

  it('serves no Sandbox', async () => {
    const response = await openInBrowser(graph);
    expect(await response.text()).not.toContain('embeddable-sandbox');
    expect(response.status).toBe(400);
  });

  it('refuses introspection', async () => {
    const response = await graph.request(graph.routerUrl, '{ __schema { types { name } } }');
    expectError(response, 'GRAPHQL_VALIDATION_FAILED', /introspection/i);
  });

  it('gives no "Did you mean" hints that map the schema', async () => {
    const response = await graph.request(graph.routerUrl, '{ mee { id } }');
    expectError(response, 'GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(response.body)).not.toMatch(/did you mean/i);
  });
});
