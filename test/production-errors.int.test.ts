import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraph, type GraphQLResponse, type RunningGraph } from './graph.js';

/** Bad input in production: a 4xx with a code and words a person can act on, no schema map. */
let production: RunningGraph;
let development: RunningGraph;
beforeAll(async () => {
  [production, development] = await Promise.all([
    startGraph('production_errors', {
      routerEnv: { NODE_ENV: 'production', PERSISTED_DOCUMENTS_MODE: 'allow' },
    }),
    startGraph('development_errors', { routerEnv: { NODE_ENV: 'development' } }),
  ]);
});
afterAll(() => Promise.all([production?.stop(), development?.stop()]));

function expectRefusedSubscription(response: GraphQLResponse): void {
  expect(response.status).toBe(400);
  expect(response.body.errors?.[0]?.extensions?.['code']).toBe('BAD_REQUEST');
  expect(response.body.errors?.[0]?.message).toMatch(/subscriptions are not supported/);
}

describe('a subscription', () => {
  it('is refused with 400 BAD_REQUEST, by POST', async () => {
    expectRefusedSubscription(
      await production.request(production.routerUrl, 'subscription { __typename }'),
    );
  });

  it('is refused when it is the operation a document picks', async () => {
    const response = await production.post(
      production.routerUrl,
      JSON.stringify({
        query: 'query Q { __typename } subscription S { __typename }',
        operationName: 'S',
      }),
    );
    expectRefusedSubscription(response);
  });

  it('is refused by GET, as Apollo Server refuses anything but a query there', async () => {
    const url = new URL(production.routerUrl);
    url.searchParams.set('query', 'subscription { __typename }');
    const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(405);
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });
});

describe('variables that do not fit their types', () => {
  const CREATE = 'mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }';
  const cases = {
    'a misspelt input field': { username: 'x', password: 'y', rol: 'ADMIN' },
    'a misspelt enum value': { username: 'x', password: 'y', role: 'ADMI' },
  };

  it.each(Object.entries(cases))(
    'say what is wrong without a "Did you mean" in production: %s',
    async (_, input) => {
      const response = await production.request(production.routerUrl, CREATE, {
        variables: { i: input },
      });
      const [error] = response.body.errors ?? [];
      expect(error?.extensions?.['code']).toBe('BAD_USER_INPUT');
      expect(error?.message).toMatch(/Variable "\$i" got invalid value/);
      expect(JSON.stringify(response.body)).not.toMatch(/did you mean|"role"|"ADMIN"/i);
    },
  );

  it('keep the hint in development, where it helps', async () => {
    const response = await development.request(development.routerUrl, CREATE, {
      variables: { i: cases['a misspelt enum value'] },
    });
    expect(response.body.errors?.[0]?.message).toMatch(/Did you mean the enum value "ADMIN"\?/);
  });
});

describe('the query plan header', () => {
  const ask = async (graph: RunningGraph) =>
    graph.request(graph.routerUrl, '{ me { id } }', {
      token: (await graph.login('user', 'u')).token,
      headers: { 'apollo-query-plan-experimental': '1' },
    });

  it('is answered in development, where it helps to see the plan', async () => {
    expect(JSON.stringify((await ask(development)).body)).toContain('__queryPlanExperimental');
  });

  it('is ignored in production: no plan, no map of the subgraphs', async () => {
    expect(JSON.stringify((await ask(production)).body)).not.toContain('__queryPlanExperimental');
  });
});
