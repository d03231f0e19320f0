import { setTimeout as sleep } from 'node:timers/promises';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse, type GraphQLSchema } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyRequest } from '@supergraph/identity';
import { listen, type RunningHttpServer } from '@supergraph/service-kit';
import {
  compose,
  createRouterHarness,
  readBody,
  request,
  SubgraphRequestBody,
  TEST_SIGNING_SECRET,
  type RouterHarness,
  type RunningRouter,
} from '../testing/routerHarness.js';

/**
 * The router's subgraph client end to end: the real router in front of two stub subgraphs that
 * check each request's signature, record it, and answer only when the test lets them. Whether
 * two callers shared one subgraph request is what the stubs were asked; what each caller got is
 * what the router answered.
 */

const FEDERATION = 'https://specs.apollo.dev/federation/v2.9';

/** Who is asking, as the signed headers say, is what `me` answers. */
const accountsSchema = buildSubgraphSchema({
  typeDefs: parse(`
    extend schema @link(url: "${FEDERATION}", import: ["@key"])
    type Query { me: User, echo(text: String!): String }
    type Mutation { touch: User }
    type User @key(fields: "id") { id: ID!, name: String }
  `),
  resolvers: {
    Query: {
      me: (_: unknown, __: unknown, context: unknown) => user(context as StubContext),
      echo: (_: unknown, { text }: { text: string }) => text,
    },
    Mutation: {
      touch: (_: unknown, __: unknown, context: unknown) => user(context as StubContext),
    },
  },
});

const visitsSchema = buildSubgraphSchema({
  typeDefs: parse(`
    extend schema @link(url: "${FEDERATION}", import: ["@key"])
    type User @key(fields: "id") { id: ID!, visits: Int }
  `),
  resolvers: {
    User: { __resolveReference: ({ id }: { id: string }) => ({ id, visits: id.length }) },
  },
});

interface StubContext {
  readonly userId: string | undefined;
}

function user({ userId }: StubContext) {
  return userId ? { id: userId, name: `Name of ${userId}` } : null;
}

/** How a stub answers: normally, 500, or by sending nothing (or only the headers) ever. */
type StubMode = 'answer' | 'fail' | 'no-headers' | 'no-body';

interface StubSubgraph {
  readonly name: string;
  readonly schema: GraphQLSchema;
  readonly server: RunningHttpServer;
  /** The requests received, in order: the query and who it was signed for. */
  readonly received: { query: string; userId: string | undefined }[];
  mode: StubMode;
  /** Requests being handled now, and the most at once since the last reset. */
  active: number;
  mostActive: number;
  /** Holds every answer until `release()`. */
  hold(): void;
  release(): void;
  reset(): void;
}

async function startStub(name: string, schema: GraphQLSchema): Promise<StubSubgraph> {
  let gate: { promise: Promise<void>; resolve: () => void } | undefined;
  const stub: StubSubgraph = {
    name,
    schema,
    server: undefined as unknown as RunningHttpServer,
    received: [],
    mode: 'answer',
    active: 0,
    mostActive: 0,
    hold: () => {
      let resolve = () => {};
      const promise = new Promise<void>((done) => (resolve = done));
      gate = { promise, resolve };
    },
    release: () => {
      gate?.resolve();
      gate = undefined;
    },
    reset: () => {
      stub.release();
      stub.received.length = 0;
      stub.mode = 'answer';
      stub.mostActive = 0;
    },
  };
  const server = await listen(
    (req, res) =>
      void (async () => {
        stub.active += 1;
        stub.mostActive = Math.max(stub.mostActive, stub.active);
        res.on('close', () => (stub.active -= 1));
        const text = await readBody(req);
        const verified = verifyRequest({
          secret: TEST_SIGNING_SECRET,
          audience: name,
          header: (name) => req.headers[name],
          body: text,
        });
        if (!verified.ok) throw new Error(`unsigned request: ${verified.reason}`);
        const body = SubgraphRequestBody.parse(JSON.parse(text));
        stub.received.push({ query: body.query, userId: verified.identity?.id });
        await gate?.promise;
        if (stub.mode === 'no-headers') return;
        if (stub.mode === 'fail') {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('the stub was told to fail');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        if (stub.mode === 'no-body') {
          res.write('{"data":');
          return;
        }
        const result = await graphql({
          schema,
          source: body.query,
          variableValues: body.variables ?? undefined,
          contextValue: { userId: verified.identity?.id } satisfies StubContext,
        });
        res.end(JSON.stringify(result));
      })().catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      }),
    { host: '127.0.0.1', port: 0 },
  );
  return Object.assign(stub, { server });
}

/** Long enough for a request sent now to reach the router and join one in flight. */
const JOIN_MS = 300;

let harness: RouterHarness;
let accounts: StubSubgraph;
let visits: StubSubgraph;
let supergraph: string;
let router: RunningRouter;
let alice: string;
let bob: string;

beforeAll(async () => {
  harness = await createRouterHarness();
  [accounts, visits] = await Promise.all([
    startStub('accounts', accountsSchema),
    startStub('visits', visitsSchema),
  ]);
  supergraph = compose([accounts, visits]);
  router = await harness.startRouter(supergraph, { SUBGRAPH_TIMEOUT_MS: '400' });
  [alice, bob] = await Promise.all([
    harness.accessToken('USER', { subject: 'alice' }),
    harness.accessToken('USER', { subject: 'bob' }),
  ]);
}, 30_000);

afterAll(async () => {
  await harness?.close();
  await Promise.all([accounts, visits].map((stub) => stub?.server.close(1_000)));
});

afterEach(() => {
  for (const stub of [accounts, visits]) stub.reset();
  router.logs.length = 0;
});

/** Sends `first`, then, once the stub holds it, `others`; lets the stub answer after `JOIN_MS`. */
async function whileOneIsHeld<T>(
  stub: StubSubgraph,
  first: () => Promise<T>,
  ...others: (() => Promise<T>)[]
): Promise<T[]> {
  stub.hold();
  const held = first();
  await expect.poll(() => stub.received.length).toBe(1);
  const joined = others.map((send) => send());
  await sleep(JOIN_MS);
  stub.release();
  return Promise.all([held, ...joined]);
}

async function fetchCount(registry: RunningRouter['registry'], subgraph: string, outcome: string) {
  const metric = await registry.getSingleMetric('supergraph_router_subgraph_fetches_total')?.get();
  return (
    metric?.values.find((v) => v.labels['subgraph'] === subgraph && v.labels['outcome'] === outcome)
      ?.value ?? 0
  );
}

describe('identical queries in flight', () => {
  it('share one subgraph request, and each caller gets the whole answer', async () => {
    const me = '{ me { id name visits } }';
    const answers = await whileOneIsHeld(
      accounts,
      () => request(router.url, me, { token: alice }),
      () => request(router.url, me, { token: alice }),
      () => request(router.url, me, { token: alice }),
    );
    for (const answer of answers) {
      expect(answer).toEqual({ data: { me: { id: 'alice', name: 'Name of alice', visits: 5 } } });
    }
    expect(accounts.received).toHaveLength(1);
  });

  it('are shared across different operations that need the same fetch, each shaped as asked', async () => {
    const [short, long] = await whileOneIsHeld(
      accounts,
      () => request(router.url, '{ me { name visits } }', { token: alice }),
      () => request(router.url, '{ me { visits id name } }', { token: alice }),
    );
    expect(short).toEqual({ data: { me: { name: 'Name of alice', visits: 5 } } });
    expect(long).toEqual({ data: { me: { visits: 5, id: 'alice', name: 'Name of alice' } } });
    expect(Object.keys(long?.data?.['me'] ?? {})).toEqual(['visits', 'id', 'name']);
    expect(accounts.received).toHaveLength(1);
  });

  it('are never shared between callers the subgraph tells apart', async () => {
    accounts.hold();
    const me = '{ me { id name } }';
    const sent = [
      request(router.url, me, { token: alice }),
      request(router.url, me, { token: bob }),
      request(router.url, me),
    ];
    await expect.poll(() => accounts.received.length).toBe(3);
    accounts.release();
    const [forAlice, forBob, anonymous] = await Promise.all(sent);
    expect(forAlice).toEqual({ data: { me: { id: 'alice', name: 'Name of alice' } } });
    expect(forBob).toEqual({ data: { me: { id: 'bob', name: 'Name of bob' } } });
    expect(anonymous).toEqual({ data: { me: null } });
    expect(accounts.received.map((r) => r.userId).sort()).toEqual(['alice', 'bob', undefined]);
  });

  it('are not shared with a request that comes after the answer', async () => {
    await request(router.url, '{ echo(text: "once") }', { token: alice });
    await request(router.url, '{ echo(text: "once") }', { token: alice });
    expect(accounts.received).toHaveLength(2);
  });

  it('are each sent when DEDUPLICATE_SUBGRAPH_QUERIES=false', async () => {
    const separate = await harness.startRouter(supergraph, {
      DEDUPLICATE_SUBGRAPH_QUERIES: 'false',
    });
    accounts.hold();
    const sent = [1, 2, 3].map(() => request(separate.url, '{ me { id } }', { token: alice }));
    await expect.poll(() => accounts.received.length).toBe(3);
    accounts.release();
    for (const answer of await Promise.all(sent)) {
      expect(answer).toEqual({ data: { me: { id: 'alice' } } });
    }
  });

  it('fail each caller on its own when the shared request fails', async () => {
    accounts.mode = 'fail';
    const answers = await whileOneIsHeld(
      accounts,
      () => request(router.url, '{ me { id } }', { token: alice }),
      () => request(router.url, '{ me { id } }', { token: alice }),
    );
    for (const answer of answers) {
      expect(answer.data).toEqual({ me: null });
      expect(answer.errors).toEqual([
        expect.objectContaining({
          path: ['me'],
          extensions: expect.objectContaining({ code: 'SERVICE_UNAVAILABLE' }),
        }),
      ]);
    }
    expect(accounts.received).toHaveLength(1);
    const failures = router.logs.filter((entry) => entry.message === 'subgraph request failed');
    expect(failures).toHaveLength(2);
    expect(failures[0]?.fields['error']).toMatch(/HTTP 500: the stub was told to fail/);
  });
});

describe('mutations', () => {
  it('are never shared, nor the fetches that follow them', async () => {
    const touch = 'mutation { touch { id visits } }';
    accounts.hold();
    visits.hold();
    const sent = [
      request(router.url, touch, { token: alice }),
      request(router.url, touch, { token: alice }),
    ];
    await expect.poll(() => accounts.received.length).toBe(2);
    accounts.release();
    await expect.poll(() => visits.received.length).toBe(2);
    visits.release();
    for (const answer of await Promise.all(sent)) {
      expect(answer).toEqual({ data: { touch: { id: 'alice', visits: 5 } } });
    }
  });
});

describe('a subgraph that does not answer', () => {
  it.each([
    ['sends no headers', 'no-headers' as const, 'UND_ERR_HEADERS_TIMEOUT'],
    ['stops in the middle of its body', 'no-body' as const, 'UND_ERR_BODY_TIMEOUT'],
  ])('is given up on when it %s, after SUBGRAPH_TIMEOUT_MS', async (_, mode, code) => {
    accounts.mode = mode;
    const before = await fetchCount(router.registry, 'accounts', 'timeout');
    const startedAt = performance.now();
    const answer = await request(router.url, '{ me { id } }', { token: bob });
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    expect(answer.data).toEqual({ me: null });
    expect(answer.errors?.[0]?.extensions?.['code']).toBe('SERVICE_UNAVAILABLE');
    expect(await fetchCount(router.registry, 'accounts', 'timeout')).toBe(before + 1);
    const failure = router.logs.find((entry) => entry.message === 'subgraph request failed');
    expect(failure?.fields).toMatchObject({ subgraph: 'accounts', code });
  });
});

describe('connections', () => {
  it('are at most SUBGRAPH_MAX_CONNECTIONS per subgraph; the rest wait their turn', async () => {
    const limited = await harness.startRouter(supergraph, { SUBGRAPH_MAX_CONNECTIONS: '2' });
    accounts.hold();
    const sent = [1, 2, 3, 4, 5, 6].map((n) =>
      request(limited.url, `{ echo(text: "${n}") }`, { token: alice }),
    );
    await expect.poll(() => accounts.received.length).toBe(2);
    await sleep(JOIN_MS);
    expect(accounts.received).toHaveLength(2);
    accounts.release();
    const answers = await Promise.all(sent);
    expect(answers.map((answer) => answer.data?.['echo'])).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(accounts.mostActive).toBe(2);
  });
});
