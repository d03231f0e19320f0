import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';

/**
 * CORS at the real router, over HTTP, with the headers a browser sends: a page on an origin in
 * CORS_ORIGINS may call the API; any other origin's preflight is refused, and no answer to it
 * carries what a browser needs before it lets a page read it. The browser is what enforces this
 * (test/web.int.test.ts watches Chromium do it); these tests pin down what it decides by.
 */

const APP = 'https://app.example.com';
const DEV_APP = 'http://localhost:5173';
/** Origins a lax check (a prefix, a suffix, the host alone) would let through. */
const STRANGERS = [
  'https://evil.example',
  'https://app.example.com.evil.example',
  'https://evilapp.example.com',
  'http://app.example.com',
  'https://app.example.com:8443',
  'http://localhost:5174',
  'null',
];
/** The request headers that the clients send, and that a preflight must allow. */
const CLIENT_HEADERS = [
  'content-type',
  'authorization',
  'accept',
  'apollo-require-preflight',
  'x-apollo-operation-name',
];
const LOGIN =
  'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { user { username } } }';
const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-allow-credentials',
  'access-control-max-age',
];

/** What a browser sends before a cross-origin POST with a JSON body and a token. */
function preflight(url: string, origin: string): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    },
  });
}

/** A header's comma-separated values, lower-cased. */
function list(headers: Headers, name: string): string[] {
  return (headers.get(name) ?? '')
    .split(',')
    .map((value) => value.trim().toLowerCase())
    .filter(Boolean);
}

function corsHeadersOf(headers: Headers): Record<string, string> {
  return Object.fromEntries(
    CORS_HEADERS.flatMap((name) => {
      const value = headers.get(name);
      return value === null ? [] : [[name, value]];
    }),
  );
}

describe('CORS at the router', () => {
  let graph: RunningGraph;
  /** The same, with CORS_ALLOW_CREDENTIALS=true. */
  let credentialed: RunningGraph;
  beforeAll(async () => {
    [graph, credentialed] = await Promise.all([
      startGraph('cors', { routerEnv: { CORS_ORIGINS: `${APP}, ${DEV_APP}` } }),
      startGraph('cors_credentials', {
        routerEnv: { CORS_ORIGINS: APP, CORS_ALLOW_CREDENTIALS: 'true' },
      }),
    ]);
  });
  afterAll(async () => {
    await graph?.stop();
    await credentialed?.stop();
  });

  it.each([APP, DEV_APP])(
    'answers a preflight from %s, on the list, with 204 and what the Fetch standard asks for',
    async (origin) => {
      const response = await preflight(graph.routerUrl, origin);
      expect(response.status).toBe(204);
      expect(await response.text()).toBe('');
      // The exact origin, never `*`: each listed origin gets its own.
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(list(response.headers, 'vary')).toContain('origin');
      expect(list(response.headers, 'access-control-allow-methods')).toEqual(['get', 'post']);
      expect(list(response.headers, 'access-control-allow-headers')).toEqual(
        expect.arrayContaining(CLIENT_HEADERS),
      );
      expect(Number(response.headers.get('access-control-max-age'))).toBeGreaterThan(0);
      // No cookies or HTTP authentication unless CORS_ALLOW_CREDENTIALS says so.
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    },
  );

  it('lets a listed origin read its answers: data, and the 401 of a refused token', async () => {
    const login = await graph.request(graph.routerUrl, LOGIN, {
      variables: { u: 'user', p: 'u' },
      headers: { origin: APP },
    });
    expect(expectOk(login)).toEqual({ login: { user: { username: 'user' } } });
    expect(login.headers.get('access-control-allow-origin')).toBe(APP);
    expect(list(login.headers, 'vary')).toContain('origin');
    expect(login.headers.get('access-control-allow-credentials')).toBeNull();

    // The web app reads `extensions.reason` of a 401 to know that a refresh can help: a browser
    // shows it to the page only with the same headers as a 200.
    const refused = await graph.request(graph.routerUrl, '{ me { id } }', {
      token: 'not.a.token',
      headers: { origin: APP },
    });
    expect(refused.status).toBe(401);
    expect(refused.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it.each(STRANGERS)(
    'refuses the preflight of %s, not on the list, with nothing a browser would go on with',
    async (origin) => {
      const response = await preflight(graph.routerUrl, origin);
      expect(response.status).toBe(403);
      expect(corsHeadersOf(response.headers)).toEqual({});
      expect(list(response.headers, 'vary')).toContain('origin');
      const body: unknown = await response.json();
      expect(body).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
    },
  );

  it('gives the answers of an origin not on the list no CORS headers, so a browser keeps them from the page', async () => {
    for (const origin of STRANGERS) {
      const response = await graph.request(graph.routerUrl, LOGIN, {
        variables: { u: 'user', p: 'u' },
        headers: { origin },
      });
      expect(corsHeadersOf(response.headers), origin).toEqual({});
    }
    // Nor a request with no Origin at all (curl, a server); the answer still varies by Origin,
    // so that no cache hands it to a page of a listed origin, or the other way round.
    const response = await graph.request(graph.routerUrl, '{ __typename }');
    expect(corsHeadersOf(response.headers)).toEqual({});
    expect(list(response.headers, 'vary')).toContain('origin');
  });

  it('keeps CSRF prevention on for listed origins: a form-like POST is refused, and nothing runs', async () => {
    const before = graph.subgraphRequests.users.length;
    const response = await graph.post(
      graph.routerUrl,
      JSON.stringify({ query: LOGIN, variables: { u: 'user', p: 'u' } }),
      { 'content-type': 'text/plain', origin: APP },
    );
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.message).toMatch(/Cross-Site Request Forgery/);
    expect(graph.subgraphRequests.users.length).toBe(before);
  });

  it('allows credentials only with CORS_ALLOW_CREDENTIALS=true, and only to a listed origin', async () => {
    const allowed = await preflight(credentialed.routerUrl, APP);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const login = await credentialed.request(credentialed.routerUrl, LOGIN, {
      variables: { u: 'user', p: 'u' },
      headers: { origin: APP },
    });
    expectOk(login);
    expect(login.headers.get('access-control-allow-origin')).toBe(APP);
    expect(login.headers.get('access-control-allow-credentials')).toBe('true');

    // DEV_APP is not on this router's list: no credentials, no origin.
    const refused = await preflight(credentialed.routerUrl, DEV_APP);
    expect(refused.status).toBe(403);
    expect(corsHeadersOf(refused.headers)).toEqual({});
  });
});
