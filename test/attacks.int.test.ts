import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '@supergraph/identity';
import { expectError, expectOk } from './expect.js';
import { startGraph, type GraphQLResponse, type RunningGraph } from './graph.js';

/**
 * graphql-cop's checks (issue #4), as the project's own tests: each one sends what graphql-cop
 * sends, or the attack it stands for, and asserts the safe outcome.
 *
 * They run against a production router in `allow` mode: in full production (`enforce`) every
 * ad-hoc document is refused as not in the trusted documents list, which would make every check
 * pass without exercising the request limits behind it. The last block shows that refusal.
 */
let prod: RunningGraph;
/** Production, with trusted documents enforced: the real default. */
let enforce: RunningGraph;
/** Test mode: introspection, field suggestions and Sandbox are on, like in development. */
let dev: RunningGraph;
let user: { token: string; userId: string };

beforeAll(async () => {
  [prod, enforce, dev] = await Promise.all([
    startGraph('attacks_prod', {
      routerEnv: { NODE_ENV: 'production', PERSISTED_DOCUMENTS_MODE: 'allow' },
    }),
    startGraph('attacks_enforce', { routerEnv: { NODE_ENV: 'production' } }),
    startGraph('attacks_dev'),
  ]);
  user = await prod.login('user', 'u');
});
afterAll(() => Promise.all([prod?.stop(), enforce?.stop(), dev?.stop()]));

/** graphql-cop's documents, as it sends them. */
const COP = {
  aliases: (count: number) =>
    `query cop { ${Array.from({ length: count }, (_, i) => `alias${i}:__typename`).join('\n')} }`,
  batch: Array.from({ length: 10 }, () => ({ query: 'query cop { __typename }' })),
  directives: 'query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }',
  duplication: (count: number) => `query cop { ${'__typename\n'.repeat(count)} }`,
  circularIntrospection:
    'query cop { __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }',
  introspection: 'query cop { __schema { types { name fields { name } } } }',
  suggestions: 'query cop { __schema { directive } }',
  getMutation: 'mutation cop { __typename }',
};

const CREATE_ORDER =
  'mutation { createOrder(input: { item: "csrf", address: "1 Main St" }) { id } }';
const orderCount = () => prod.ordersDb.collection('orders').countDocuments();

/** A refusal before execution: HTTP 400, no data, and exactly one error with this code. */
function expectRefusal(response: GraphQLResponse, code: string): void {
  expect(response.status, JSON.stringify(response.body)).toBe(400);
  expect(response.body.data).toBeUndefined();
  expect(response.body.errors, JSON.stringify(response.body)).toHaveLength(1);
  expect(response.body.errors?.[0]?.extensions?.['code']).toBe(code);
  expect(response.body.errors?.[0]?.message).toMatch(/\S/);
}

/** An HTTP-level refusal (CSRF prevention, GET rules) as JSON: this status, no data, BAD_REQUEST. */
async function expectHttpRefusal(response: Response, status: number): Promise<void> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as GraphQLResponse['body'];
  expect(body.data).toBeUndefined();
  expect(body.errors?.[0]?.extensions?.['code']).toBe('BAD_REQUEST');
}

describe('graphql-cop against a production router', () => {
  describe('alias overloading', () => {
    it('refuses graphql-cop’s 101 aliases of __typename with MAX_ALIASES_LIMIT', async () => {
      expectRefusal(await prod.request(prod.routerUrl, COP.aliases(101)), 'MAX_ALIASES_LIMIT');
    });

    it('runs 15 aliases and refuses 16: the limit is the configured default, not a guess', async () => {
      const data = expectOk(await prod.request(prod.routerUrl, COP.aliases(15)));
      expect(Object.keys(data)).toHaveLength(15);
      expectRefusal(await prod.request(prod.routerUrl, COP.aliases(16)), 'MAX_ALIASES_LIMIT');
    });

    // Apollo Server runs these requests; a check that read the body as one object would lose
    // `operationName` to the malformed neighbour and measure no operation at all.
    it.each([
      ['"extensions": null', { extensions: null }],
      ['"persistedQuery": null', { extensions: { persistedQuery: null } }],
    ])('refuses 101 aliases in a named operation beside %s', async (_, extra) => {
      const body = {
        query: `query Small { __typename } ${COP.aliases(101)}`,
        operationName: 'cop',
        ...extra,
      };
      expectRefusal(await prod.post(prod.routerUrl, JSON.stringify(body)), 'MAX_ALIASES_LIMIT');
    });

    it('counts aliases of real fields too', async () => {
      const query = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
      expectRefusal(
        await prod.request(prod.routerUrl, query, { token: user.token }),
        'MAX_ALIASES_LIMIT',
      );
    });
  });

  it('refuses batched queries: graphql-cop’s array of 10 gets one error, not 10 answers', async () => {
    const response = await prod.post(prod.routerUrl, JSON.stringify(COP.batch));
    expect(response.status).toBe(400);
    expect(Array.isArray(response.body)).toBe(false);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors).toHaveLength(1);
    expectError(response, 'BAD_REQUEST', /batching/i);
  });

  describe('directive overloading', () => {
    // graphql-cop reports the endpoint vulnerable when its ten duplicated directives come back
    // as ten errors: the engine parsed and processed every one of them. The router stops
    // validating after five errors (`validationOptions.maxErrors`), however many there are.
    it.each([10, 40])(
      'answers %i duplicated unknown directives with at most six errors',
      async (count) => {
        const response = await prod.request(
          prod.routerUrl,
          `query cop { __typename ${'@aa'.repeat(count)} }`,
        );
        expect(response.status).toBe(400);
        expect(response.body.data).toBeUndefined();
        expect(response.body.errors?.length, JSON.stringify(response.body)).toBeLessThanOrEqual(6);
        expect(response.body.errors?.at(-1)?.message).toMatch(/too many validation errors/i);
        for (const error of response.body.errors ?? []) {
          expect(error.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
        }
      },
    );

    it('answers graphql-cop’s own document with fewer than its ten errors', async () => {
      const response = await prod.request(prod.routerUrl, COP.directives);
      expect(response.status).toBe(400);
      expect(response.body.errors?.length).toBeLessThan(10);
    });

    it('refuses more than 50 directives with MAX_DIRECTIVES_LIMIT, before validating them', async () => {
      const query = `query cop { __typename ${'@aa'.repeat(51)} }`;
      expectRefusal(await prod.request(prod.routerUrl, query), 'MAX_DIRECTIVES_LIMIT');
    });
  });

  it('refuses field duplication (__typename × 500) with MAX_FIELD_REPEATS_LIMIT, and allows 3', async () => {
    expectRefusal(
      await prod.request(prod.routerUrl, COP.duplication(500)),
      'MAX_FIELD_REPEATS_LIMIT',
    );
    expect(expectOk(await prod.request(prod.routerUrl, COP.duplication(3)))).toEqual({
      __typename: 'Query',
    });
    expectRefusal(
      await prod.request(prod.routerUrl, COP.duplication(4)),
      'MAX_FIELD_REPEATS_LIMIT',
    );
  });

  it('refuses circular introspection and returns no schema', async () => {
    const response = await prod.request(prod.routerUrl, COP.circularIntrospection);
    expect(response.status).toBe(400);
    expect(response.body.data).toBeUndefined();
    expect(JSON.stringify(response.body)).not.toMatch(/"types"|"fields"/);
    const codes = response.body.errors?.map((error) => error.extensions?.['code']);
    expect(codes?.length).toBeGreaterThan(0);
    for (const code of codes ?? []) {
      expect(['MAX_DEPTH_LIMIT', 'GRAPHQL_VALIDATION_FAILED']).toContain(code);
    }
  });

  describe('GET-based queries and mutations, and form-encoded POST (CSRF)', () => {
    // The token is sent so that the mutation would write if it ran: without one, nothing could
    // be written anyway and "nothing was written" would prove nothing.
    const auth = () => ({ authorization: `Bearer ${user.token}` });

    it('refuses a GET without a preflight header, the request a cross-site <img> or link makes', async () => {
      const url = `${prod.routerUrl}?query=${encodeURIComponent('query cop { __typename }')}`;
      await expectHttpRefusal(await fetch(url), 400);
    });

    it('refuses a GET mutation, even with a preflight header, and writes nothing', async () => {
      const before = await orderCount();
      const url = `${prod.routerUrl}?query=${encodeURIComponent(CREATE_ORDER)}`;
      await expectHttpRefusal(await fetch(url, { headers: auth() }), 400);
      await expectHttpRefusal(
        await fetch(url, { headers: { ...auth(), 'apollo-require-preflight': 'true' } }),
        405,
      );
      const cop = `${prod.routerUrl}?query=${encodeURIComponent(COP.getMutation)}`;
      await expectHttpRefusal(
        await fetch(cop, { headers: { 'apollo-require-preflight': 'true' } }),
        405,
      );
      expect(await orderCount()).toBe(before);
    });

    it.each([
      ['text/plain', JSON.stringify({ query: CREATE_ORDER })],
      ['application/x-www-form-urlencoded', `query=${encodeURIComponent(CREATE_ORDER)}`],
    ])(
      'refuses a %s POST, which a browser sends cross-site without preflight, and writes nothing',
      async (contentType, body) => {
        const before = await orderCount();
        const response = await fetch(prod.routerUrl, {
          method: 'POST',
          headers: { ...auth(), 'content-type': contentType },
          body,
        });
        await expectHttpRefusal(response, 400);
        expect(await orderCount()).toBe(before);
      },
    );

    it('refuses a multipart POST without the preflight header, and writes nothing', async () => {
      const before = await orderCount();
      const form = new FormData();
      form.set('operations', JSON.stringify({ query: CREATE_ORDER }));
      form.set('map', '{}');
      const response = await fetch(prod.routerUrl, { method: 'POST', headers: auth(), body: form });
      await expectHttpRefusal(response, 400);
      expect(await orderCount()).toBe(before);
    });

    it('still runs the same mutation as a JSON POST (the control for the refusals above)', async () => {
      const before = await orderCount();
      expectOk(await prod.request(prod.routerUrl, CREATE_ORDER, { token: user.token }));
      expect(await orderCount()).toBe(before + 1);
    });
  });

  describe('trace and debug leaks', () => {
    const TRACE = { 'apollo-federation-include-trace': 'ftv1' };

    it('returns no trace from the router, for a query that reaches both subgraphs', async () => {
      const response = await prod.request(
        prod.routerUrl,
        '{ me { username orders(first: 1) { edges { cursor } } } }',
        { token: user.token, headers: TRACE },
      );
      expectOk(response);
      expect(response.body).not.toHaveProperty('extensions');
    });

    it.each(['users', 'orders'] as const)(
      'returns no ftv1 trace from the %s subgraph, even to a validly signed request',
      async (subgraph) => {
        const body = JSON.stringify({ query: '{ _service { sdl } }' });
        const response = await fetch(subgraph === 'users' ? prod.usersUrl : prod.ordersUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...TRACE,
            ...signRequest({
              secret: prod.identitySecret,
              audience: subgraph,
              userId: undefined,
              role: undefined,
              body,
            }),
          },
          body,
        });
        expect(response.status).toBe(200);
        const json = (await response.json()) as Record<string, unknown>;
        expect(json['data']).toMatchObject({ _service: { sdl: expect.any(String) } });
        expect(json).not.toHaveProperty('extensions');
      },
    );

    it('asked for debug output, gives errors with a code and nothing internal', async () => {
      const { userId } = user;
      const responses = await Promise.all([
        // A parse error, graphql-cop's unhandled-error probe, with the usual debug switches.
        prod.post(
          `${prod.routerUrl}?debug=1`,
          JSON.stringify({ query: 'qwerty cop { abc }', extensions: { debug: true } }),
          { 'x-debug': '1' },
        ),
        // A validation error.
        prod.request(prod.routerUrl, '{ me { password } }', { token: user.token }),
        // Errors raised inside each subgraph and passed on by the router.
        prod.request(prod.routerUrl, '{ order(id: "not-an-id") { id } }', { token: user.token }),
        prod.request(prod.routerUrl, '{ users(first: 1000) { edges { cursor } } }', {
          token: (await prod.login('admin', 'a')).token,
        }),
        prod.request(prod.routerUrl, 'query ($id: ID!) { user(id: $id) { email } }', {
          variables: { id: userId },
        }),
        prod.request(prod.routerUrl, '{ orders(after: "garbage") { edges { cursor } } }', {
          token: user.token,
        }),
      ]);
      const internal = new RegExp(
        [
          'stacktrace',
          'exception',
          'serviceName',
          'Mongo',
          'ECONNREFUSED',
          '127\\.0\\.0\\.1',
          'localhost',
          ...[prod.usersUrl, prod.ordersUrl].map((url) => `:${new URL(url).port}\\b`),
          '\\.ts:\\d+',
          'node_modules',
        ].join('|'),
        'i',
      );
      for (const response of responses) {
        expect(response.status).toBeLessThan(500);
        expect(response.body.errors?.length, JSON.stringify(response.body)).toBeGreaterThan(0);
        for (const error of response.body.errors ?? []) {
          expect(error.extensions?.['code']).toEqual(expect.any(String));
          expect(error.extensions?.['code']).not.toBe('INTERNAL_SERVER_ERROR');
          expect(JSON.stringify(error)).not.toMatch(internal);
        }
        expect(response.body).not.toHaveProperty('extensions');
      }
    });
  });

  it('gives no field suggestions ("Did you mean") that map the schema', async () => {
    for (const query of [COP.suggestions, '{ me { usernam } }', '{ orderz { id } }']) {
      const response = await prod.request(prod.routerUrl, query);
      expectError(response, 'GRAPHQL_VALIDATION_FAILED');
      expect(JSON.stringify(response.body)).not.toMatch(/did you mean/i);
    }
  });

  it('refuses introspection, by POST and by GET', async () => {
    for (const query of [COP.introspection, '{ __type(name: "User") { fields { name } } }']) {
      const response = await prod.request(prod.routerUrl, query);
      expect(response.status).toBe(400);
      expect(response.body.data).toBeUndefined();
      expectError(response, 'GRAPHQL_VALIDATION_FAILED', /introspection/i);
    }
    const byGet = await fetch(`${prod.routerUrl}?query=${encodeURIComponent(COP.introspection)}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(byGet.status).toBe(400);
    expect(await byGet.text()).not.toMatch(/"types"/);
  });

  describe('an IDE exposed in production', () => {
    it('serves no Sandbox where a browser opens the router, even after the redirect from /', async () => {
      const response = await fetch(new URL('/', prod.routerUrl), {
        headers: { accept: 'text/html' },
      });
      expect(response.url).toBe(prod.routerUrl);
      expect(response.headers.get('content-type')).not.toMatch(/html/);
      expect(await response.text()).not.toMatch(/sandbox|graphiql|playground|<html/i);
    });

    it.each(['/graphiql', '/playground', '/altair', '/sandbox', '/explorer', '/voyager'])(
      'serves no IDE at %s',
      async (path) => {
        const response = await fetch(new URL(path, prod.routerUrl), {
          headers: { accept: 'text/html' },
        });
        expect(response.status).toBe(404);
        expect(response.headers.get('content-type')).toMatch(/json/);
      },
    );
  });
});

describe('the depth and cost limits, with a query a user could send', () => {
  const ordersOfOrders = (first: number) =>
    `{ orders(first: ${first}) { edges { node { user { orders(first: ${first}) { __typename } } } } } }`;

  it('runs fields nested 6 deep and refuses 7 with MAX_DEPTH_LIMIT', async () => {
    expectOk(
      await prod.request(prod.routerUrl, '{ me { orders { edges { node { user { id } } } } } }', {
        token: user.token,
      }),
    );
    expectRefusal(
      await prod.request(
        prod.routerUrl,
        '{ me { orders { edges { node { user { orders { __typename } } } } } } }',
        { token: user.token },
      ),
      'MAX_DEPTH_LIMIT',
    );
  });

  // Lists multiply: 100 orders, each asking for 100 orders of its owner, is 10 000 objects.
  it('refuses an estimated cost over 5000 with COST_ESTIMATED_TOO_EXPENSIVE, and runs it with first: 10', async () => {
    expectOk(await prod.request(prod.routerUrl, ordersOfOrders(10), { token: user.token }));
    expectRefusal(
      await prod.request(prod.routerUrl, ordersOfOrders(100), { token: user.token }),
      'COST_ESTIMATED_TOO_EXPENSIVE',
    );
  });
});

describe('the same checks in test mode, where introspection, suggestions and Sandbox are on', () => {
  it('refuses circular introspection with the depth limit, while shallow introspection runs', async () => {
    expect(
      expectOk(await dev.request(dev.routerUrl, '{ __schema { queryType { name } } }')),
    ).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const response = await dev.request(dev.routerUrl, COP.circularIntrospection);
    expect(response.status).toBe(400);
    expect(response.body.data).toBeUndefined();
    expectError(response, 'MAX_DEPTH_LIMIT');
  });

  // The controls for the production checks: each would have caught its leak.
  it('does suggest fields, so the production check above can fail', async () => {
    const response = await dev.request(dev.routerUrl, COP.suggestions);
    expect(JSON.stringify(response.body)).toMatch(/did you mean/i);
  });

  it('does serve Sandbox, so the production check above can fail', async () => {
    const response = await fetch(new URL('/', dev.routerUrl), { headers: { accept: 'text/html' } });
    expect(response.headers.get('content-type')).toMatch(/html/);
    expect(await response.text()).toContain('embeddable-sandbox');
  });
});

describe('limits are configured by the router environment', () => {
  let custom: RunningGraph;
  beforeAll(async () => {
    custom = await startGraph('attacks_custom', { routerEnv: { MAX_ALIASES: '20' } });
  });
  afterAll(() => custom?.stop());

  it('MAX_ALIASES=20 runs 20 aliases and refuses 21', async () => {
    const data = expectOk(await custom.request(custom.routerUrl, COP.aliases(20)));
    expect(Object.keys(data)).toHaveLength(20);
    expectRefusal(await custom.request(custom.routerUrl, COP.aliases(21)), 'MAX_ALIASES_LIMIT');
  });
});

describe('in full production (trusted documents enforced)', () => {
  it.each([
    ['alias overloading', COP.aliases(101)],
    ['directive overloading', COP.directives],
    ['field duplication', COP.duplication(500)],
    ['circular introspection', COP.circularIntrospection],
    ['introspection', COP.introspection],
    ['field suggestions', COP.suggestions],
  ])('refuses %s as not in the list', async (_name, query) => {
    const response = await enforce.request(enforce.routerUrl, query);
    expectRefusal(response, 'PERSISTED_QUERY_NOT_IN_LIST');
  });

  it('refuses a batch as not in the list', async () => {
    expectRefusal(
      await enforce.post(enforce.routerUrl, JSON.stringify(COP.batch)),
      'PERSISTED_QUERY_NOT_IN_LIST',
    );
  });
});
