import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, expectError } from './expect.js';
import { startGraph, type GraphQLResponse, type RunningGraph } from './graph.js';
import { persistedDocument, persistedDocuments } from './manifest.js';

/**
 * Trusted documents (issue #3): the router runs operations by hash from the manifest that
 * graphql-codegen writes for the example app, and in `enforce` mode refuses anything else.
 */
const manifest = persistedDocuments;
const hashOf = (operationName: string) => persistedDocument(operationName).hash;

function post(graph: RunningGraph, body: unknown, token?: string): Promise<GraphQLResponse> {
  return graph.post(
    graph.routerUrl,
    JSON.stringify(body),
    token ? { authorization: `Bearer ${token}` } : {},
  );
}

const byHash = (sha256Hash: string, variables: Record<string, unknown> = {}) => ({
  variables,
  extensions: { persistedQuery: { version: 1, sha256Hash } },
});

function expectNotInList(response: GraphQLResponse): void {
  expect(response.status).toBe(400);
  expect(response.body.data).toBeUndefined();
  expectError(response, 'PERSISTED_QUERY_NOT_IN_LIST', /trusted documents/);
}

describe('in enforce mode', () => {
  let graph: RunningGraph;
  beforeAll(async () => {
    graph = await startGraph('trusted_enforce', {
      routerEnv: { PERSISTED_DOCUMENTS_MODE: 'enforce' },
    });
  });
  afterAll(() => graph?.stop());

  it('runs the app’s operations by hash: log in, then read my orders', async () => {
    const login = await post(graph, byHash(hashOf('Login'), { username: 'user', password: 'u' }));
    expect(login.status).toBe(200);
    const token = at(login.body, ['login', 'accessToken']);
    expect(token).toEqual(expect.stringMatching(/^ey/));
    const orders = await post(graph, byHash(hashOf('MyOrders'), { first: 5 }), String(token));
    expect(orders.body).toEqual({
      data: {
        me: {
          id: expect.any(String),
          orders: { edges: [], pageInfo: { hasNextPage: false, endCursor: null } },
        },
      },
    });
  });

  it('runs a trusted document sent as its exact text', async () => {
    const response = await post(graph, {
      query: manifest.get(hashOf('Login')),
      variables: { username: 'user', password: 'u' },
    });
    expect(at(response.body, ['login', 'accessToken'])).toEqual(expect.stringMatching(/^ey/));
  });

  it('refuses an ad-hoc query, with a message that says why', async () => {
    expectNotInList(await post(graph, { query: '{ me { id } }' }));
  });

  it('refuses an ad-hoc query sent by GET', async () => {
    const response = await fetch(
      `${graph.routerUrl}?query=${encodeURIComponent('{ __typename }')}`,
      {
        headers: { 'apollo-require-preflight': 'true' },
      },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } }],
    });
  });

  it('refuses a tampered hash', async () => {
    const hash = hashOf('Login');
    const tampered = `${hash.slice(0, -1)}${hash.endsWith('0') ? '1' : '0'}`;
    expectNotInList(await post(graph, byHash(tampered, { username: 'user', password: 'u' })));
  });

  it('refuses a trusted hash sent with other query text', async () => {
    const response = await post(graph, {
      query: '{ users { edges { node { email } } } }',
      ...byHash(hashOf('Users')),
    });
    expect(response.status).toBe(400);
    expectError(response, 'BAD_REQUEST', /does not match/);
  });

  it('refuses introspection that is not in the manifest', async () => {
    expectNotInList(await post(graph, { query: '{ __schema { types { name } } }' }));
  });
});

describe('in allow mode (development)', () => {
  let graph: RunningGraph;
  beforeAll(async () => {
    graph = await startGraph('trusted_allow', { routerEnv: { PERSISTED_DOCUMENTS_MODE: 'allow' } });
  });
  afterAll(() => graph?.stop());

  it('runs ad-hoc queries as well as hashes', async () => {
    expect((await post(graph, { query: '{ __typename }' })).body).toEqual({
      data: { __typename: 'Query' },
    });
    const login = await post(graph, byHash(hashOf('Login'), { username: 'admin', password: 'a' }));
    expect(at(login.body, ['login', 'accessToken'])).toEqual(expect.stringMatching(/^ey/));
  });

  it('never registers a client’s own operation (no APQ), so its hash stays unknown', async () => {
    const query = '{ __typename }';
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256').update(query).digest('hex');
    expect((await post(graph, { query, ...byHash(hash) })).status).toBe(200);
    const again = await post(graph, byHash(hash));
    expectError(again, 'PERSISTED_QUERY_NOT_FOUND');
  });
});
