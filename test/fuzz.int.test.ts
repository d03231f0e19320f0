import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createIdentity } from '@supergraph/identity';
import { startGraph, type RunningGraph } from './graph.js';

/**
 * Property-based fuzzing of malformed requests against the real router (issue #4). Whatever a
 * client sends, the answer is never a 5xx or a crash: it is JSON, a valid result or errors that
 * each carry an `extensions.code` (never INTERNAL_SERVER_ERROR), and the router keeps answering.
 *
 * Runs are bounded so that the file stays well under a minute on a small machine. A failure
 * prints fast-check's seed and the shrunk request; `fc.assert(..., { seed, path })` replays it.
 */
let graph: RunningGraph;
let user: { token: string; userId: string };
let admin: { token: string; userId: string };
/** The router's body limit (MAX_BODY_BYTES' default). */
const MAX_BODY_BYTES = 100 * 1024;

beforeAll(async () => {
  graph = await startGraph('fuzz');
  user = await graph.login('user', 'u');
  admin = await graph.login('admin', 'a');
});
afterAll(() => graph?.stop());

interface Answer {
  status: number;
  text: string;
}

/** POSTs exactly these bytes; never throws on an HTTP status or a non-JSON body. */
async function postRaw(
  body: string | Uint8Array,
  headers: Record<string, string> = {},
  url = graph.routerUrl,
): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, text: await response.text() };
}

const postJson = (value: unknown, token?: string) =>
  postRaw(JSON.stringify(value), token ? { authorization: `Bearer ${token}` } : {});

/**
 * The invariant: no 5xx; a JSON body; either data without errors, or errors that all carry a
 * string code other than INTERNAL_SERVER_ERROR. Returns the codes, for properties that expect one.
 */
function expectSafe(answer: Answer): string[] {
  const context = `HTTP ${answer.status}: ${answer.text.slice(0, 300)}`;
  expect(answer.status, context).toBeLessThan(500);
  let body: unknown;
  expect(() => (body = JSON.parse(answer.text)), context).not.toThrow();
  expect(body, context).toBeTypeOf('object');
  expect(body, context).not.toBeNull();
  const { data, errors } = body as { data?: unknown; errors?: unknown };
  if (errors === undefined) {
    expect(answer.status, context).toBe(200);
    expect(data, context).toBeTypeOf('object');
    expect(data, context).not.toBeNull();
    return [];
  }
  expect(Array.isArray(errors), context).toBe(true);
  const list = errors as { extensions?: { code?: unknown } }[];
  expect(list.length, context).toBeGreaterThan(0);
  const codes = list.map((error) => error.extensions?.code);
  for (const code of codes) {
    expect(code, context).toBeTypeOf('string');
    expect(code, context).not.toBe('INTERNAL_SERVER_ERROR');
  }
  return codes as string[];
}

/** After each property: the router still answers an anonymous and an authenticated query. */
async function expectStillAnswering(): Promise<void> {
  expect(JSON.parse((await postJson({ query: '{ __typename }' })).text)).toEqual({
    data: { __typename: 'Query' },
  });
  expect(JSON.parse((await postJson({ query: '{ me { id } }' }, user.token)).text)).toEqual({
    data: { me: { id: user.userId } },
  });
}

/** Runs a property over `numRuns` generated requests, then checks the router still answers. */
async function property<T>(
  arbitrary: fc.Arbitrary<T>,
  numRuns: number,
  run: (value: T) => Promise<void>,
): Promise<void> {
  await fc.assert(fc.asyncProperty(arbitrary, run), { numRuns, reporter: report });
  await expectStillAnswering();
}

/**
 * fast-check's failure report, with long strings cut short: a 100 KB counterexample helps
 * nobody, and the seed and path replay it exactly.
 */
function report<Ts>(details: fc.RunDetails<Ts>): void {
  if (!details.failed) return;
  const shown = JSON.stringify(details.counterexample, (_key, value: unknown) =>
    typeof value === 'string' && value.length > 200
      ? `${value.slice(0, 100)}… (${value.length} characters)`
      : value,
  );
  throw new Error(
    `Property failed after ${details.numRuns} runs; replay with { seed: ${details.seed}, path: "${details.counterexamplePath}" }.\nCounterexample: ${shown}`,
    { cause: details.errorInstance },
  );
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/** Strings that have broken parsers, databases and terminals before. */
const NASTY = [
  '\uD800', // a lone high surrogate
  '\uDFFF', // a lone low surrogate
  '\uDBFF\uDFFF', // the last code point
  '\u0000', // NUL, which ends C strings
  '\u202E', // right-to-left override
  '\u200F\u200B\u2060', // RTL mark, zero-width space, word joiner
  '\uFEFF', // a byte-order mark
  '\u0085\u2028\u2029', // next line, line and paragraph separators
  '👩‍👩‍👧‍👦', // an emoji ZWJ sequence
  '🏳️‍🌈',
  'e\u0301\u0301\u0301', // stacked combining marks
  'Ω\u2126', // two different Omegas
  'ＡＤＭＩＮ', // fullwidth letters
  'ß', // grows when upper-cased
  'İ', // changes length when lower-cased
  '\\u0000\\ud800', // escapes as text
  '{"$ne": null}',
  '$where',
  '../../etc/passwd',
  '%00%ff',
  "'; DROP TABLE users; --",
  '<script>alert(1)</script>',
];

const nastyString = fc
  .array(
    fc.oneof(
      fc.constantFrom(...NASTY),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(''));

/** Nasty strings, sometimes repeated into long ones (up to ~20 000 UTF-16 units). */
const unicodeString = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...NASTY), fc.integer({ min: 100, max: 5_000 }))
      .map(([piece, times]) => piece.repeat(times)),
  },
);

/** UTF-8 that is not: overlong encodings, encoded surrogates, stray continuation bytes. */
const INVALID_UTF8 = [
  [0xc0, 0x80], // an overlong NUL
  [0xe0, 0x80, 0xaf], // an overlong '/'
  [0xed, 0xa0, 0x80], // an encoded surrogate (CESU-8)
  [0x80], // a lone continuation byte
  [0xff, 0xfe], // bytes UTF-8 never uses
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
  [0xe2, 0x82], // a truncated sequence
];

const VALID_BODIES = [
  { query: '{ __typename }' },
  { query: 'query ($id: ID!) { user(id: $id) { id } }', variables: { id: 'x' } },
  {
    query: 'mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }',
    variables: { input: { item: 'a', address: 'b' } },
  },
];

/** Bodies that are not JSON, or are JSON of the wrong shape. */
const brokenBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  // A valid body, cut short.
  fc.tuple(fc.constantFrom(...VALID_BODIES), fc.nat()).map(([body, at]) => {
    const text = JSON.stringify(body);
    return text.slice(0, at % text.length);
  }),
  // A valid body with one character inserted, or one removed.
  fc
    .tuple(
      fc.constantFrom(...VALID_BODIES),
      fc.nat(),
      fc.constantFrom('"', '{', '}', ',', ':', '\\', '[', 'x', ''),
    )
    .map(([body, at, char]) => {
      const text = JSON.stringify(body);
      const i = at % text.length;
      return text.slice(0, i) + char + text.slice(i + (char === '' ? 1 : 0));
    }),
  // A valid body with invalid UTF-8 inside a string.
  fc
    .constantFrom(...INVALID_UTF8)
    .map((bytes) =>
      Buffer.concat([
        Buffer.from('{"query":"{ __typename }","operationName":"'),
        Buffer.from(bytes),
        Buffer.from('"}'),
      ]),
    ),
  // The right keys with the wrong types.
  fc
    .record(
      {
        query: fc.jsonValue({ maxDepth: 2 }),
        variables: fc.jsonValue({ maxDepth: 2 }),
        operationName: fc.jsonValue({ maxDepth: 1 }),
        extensions: fc.jsonValue({ maxDepth: 3 }),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
);

const name = fc.stringMatching(/^[_A-Za-z][_0-9A-Za-z]{0,15}$/);

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('malformed requests never get a 5xx, and the router keeps answering', () => {
  it('broken JSON bodies, and JSON of the wrong shape', { timeout: 60_000 }, async () => {
    await property(brokenBody, 200, async (body) => {
      expectSafe(await postRaw(body, { authorization: `Bearer ${user.token}` }));
    });
  });

  it('wrong types for variables', { timeout: 60_000 }, async () => {
    const operations = [
      'query ($first: Int, $after: String) { orders(first: $first, after: $after) { edges { cursor } } }',
      'query ($id: ID!) { order(id: $id) { id } }',
      'mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }',
      'mutation ($item: String!, $address: String!) { createOrder(input: { item: $item, address: $address }) { id } }',
      'query ($id: ID!, $first: Int) { user(id: $id) { id orders(first: $first) { edges { cursor } } } }',
    ];
    const variables = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.dictionary(
          fc.constantFrom('first', 'after', 'id', 'input', 'item', 'address', 'x'),
          fc.jsonValue({ maxDepth: 3 }),
        ),
      },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    );
    await property(
      fc.tuple(fc.constantFrom(...operations), variables),
      200,
      async ([query, vars]) => {
        expectSafe(await postJson({ query, variables: vars }, user.token));
      },
    );
  });

  it('huge strings below the body limit', { timeout: 60_000 }, async () => {
    const huge = fc
      .tuple(
        fc.constantFrom('x', ' ', '€', '\uD800', '👍', '\\', '"'),
        fc.integer({ min: 1_000, max: 20_000 }),
      )
      // As many as fit below the limit even when escaped twice (a string literal in the query).
      .map(([piece, times]) => {
        const bytesEach = Buffer.byteLength(JSON.stringify(JSON.stringify(piece.repeat(10)))) / 10;
        return piece.repeat(Math.min(times, Math.floor(90_000 / bytesEach)));
      });
    const requests = fc.oneof(
      huge.map((s) => ({
        body: {
          query: 'mutation ($s: String!) { createOrder(input: { item: $s, address: $s }) { id } }',
          variables: { s: s.slice(0, 10_000) },
        },
        token: user.token,
      })),
      huge.map((s) => ({
        body: { query: 'query ($id: ID!) { user(id: $id) { id } }', variables: { id: s } },
        token: admin.token,
      })),
      huge.map((s) => ({
        body: { query: `{ user(id: ${JSON.stringify(s.slice(0, 10_000))}) { id } }` },
        token: admin.token,
      })),
      huge.map((s) => ({
        body: { query: `{ __typename } # ${s.replace(/[\n\r]/g, '')}` },
        token: undefined,
      })),
      huge.map((s) => ({ body: { query: '{ __typename }', operationName: s }, token: undefined })),
    );
    await property(requests, 40, async ({ body, token }) => {
      const text = JSON.stringify(body);
      expect(Buffer.byteLength(text)).toBeLessThan(MAX_BODY_BYTES);
      const codes = expectSafe(
        await postRaw(text, token ? { authorization: `Bearer ${token}` } : {}),
      );
      expect(codes).not.toContain('PAYLOAD_TOO_LARGE');
    });
  });

  it('huge bodies above the limit get 413 PAYLOAD_TOO_LARGE', { timeout: 60_000 }, async () => {
    await property(
      fc.integer({ min: MAX_BODY_BYTES + 1, max: 4 * MAX_BODY_BYTES }),
      20,
      async (size) => {
        const body = JSON.stringify({
          query: '{ __typename }',
          variables: { s: 'y'.repeat(size) },
        });
        const answer = await postRaw(body);
        expect(answer.status).toBe(413);
        expect(expectSafe(answer)).toEqual(['PAYLOAD_TOO_LARGE']);
      },
    );
  });

  it(
    'deep nesting: of selections, of input values, of braces and of the JSON body',
    { timeout: 60_000 },
    async () => {
      const path = ['me', 'orders', 'edges', 'node', 'user', 'orders', 'edges', 'node', 'user'];
      const nest = (depth: number, open: string, inner: string, close: string) =>
        `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
      // Bodies are built as text: JSON.stringify of a value this deep overflows the test's own
      // stack, while the router has to cope with whatever text arrives.
      const deep = fc.oneof(
        // Selections that follow the schema, to any depth.
        fc.integer({ min: 1, max: 60 }).map((depth) => {
          const fields = Array.from({ length: depth }, (_, i) => path[i % path.length]);
          const query = `{ ${fields.join(' { ')} { __typename${' }'.repeat(depth)} }`;
          return JSON.stringify({ query });
        }),
        // Braces and brackets alone, deep enough to blow a recursive parser's stack.
        fc
          .tuple(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom('{a', '[', '{', '(', '{a:'))
          .map(([depth, open]) =>
            JSON.stringify({ query: `{ user(id: ${open.repeat(depth)}) { id } }` }),
          ),
        fc.integer({ min: 1, max: 3_000 }).map((depth) =>
          JSON.stringify({
            query: `mutation { createOrder(input: { item: ${nest(depth, '[', '"x"', ']')}, address: "a" }) { id } }`,
          }),
        ),
        // Nested objects and lists as variables, where the schema expects an input or an ID.
        fc
          .tuple(
            fc.integer({ min: 1, max: 20_000 }),
            fc.constantFrom(
              [
                'mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }',
                'input',
              ],
              ['query ($id: ID!) { order(id: $id) { id } }', 'id'],
              ['{ __typename }', 'unused'],
            ),
            fc.constantFrom(['{"item":', '}'], ['[', ']'], ['{"a":[', ']}']),
          )
          .map(
            ([depth, [query, variable], [open, close]]) =>
              `{"query":${JSON.stringify(query)},"variables":{"${variable}":${nest(depth, open, '"x"', close)}}}`,
          ),
        // A deep JSON document in extensions, which the router reads before anything else.
        fc
          .integer({ min: 1, max: 20_000 })
          .map(
            (depth) => `{"query":"{ __typename }","extensions":${nest(depth, '{"a":', '1', '}')}}`,
          ),
      );
      await property(deep, 120, async (text) => {
        const answer = await postRaw(text, { authorization: `Bearer ${user.token}` });
        const codes = expectSafe(answer);
        if (Buffer.byteLength(text) > MAX_BODY_BYTES) expect(codes).toEqual(['PAYLOAD_TOO_LARGE']);
      });
    },
  );

  it(
    'unknown fields, arguments, types, operations and body keys',
    { timeout: 60_000 },
    async () => {
      const unknown = fc.oneof(
        name.map((field) => ({ query: `{ ${field} }` })),
        name.map((field) => ({ query: `{ me { ${field} } }` })),
        fc.tuple(name, fc.jsonValue({ maxDepth: 1 })).map(([arg, value]) => ({
          query: `{ orders(${arg}: ${JSON.stringify(value) ?? 'null'}) { edges { cursor } } }`,
        })),
        name.map((type) => ({ query: `{ me { ... on ${type} { id } } }` })),
        name.map((type) => ({ query: `query ($v: ${type}) { __typename }`, variables: { v: 1 } })),
        name.map((operationName) => ({
          query: 'query A { __typename } query B { __typename }',
          operationName,
        })),
        fc
          .dictionary(name, fc.jsonValue({ maxDepth: 2 }))
          .map((extra) => ({ ...extra, query: '{ __typename }' })),
      );
      await property(unknown, 200, async (body) => {
        expectSafe(await postJson(body, user.token));
      });
    },
  );

  const invalidId = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.stringMatching(/^[0-9a-f]{0,30}$/),
    fc.stringMatching(/^[0-9a-f]{24}$/),
    fc.stringMatching(/^[0-9A-Fa-fxXgG]{24}$/),
    fc.constantFrom(
      '{"$ne": null}',
      '{"$gt": ""}',
      'null',
      'undefined',
      '0',
      '-1',
      'ObjectId()',
      ' ',
    ),
    fc.jsonValue({ maxDepth: 2 }),
  );

  it('invalid ids for user(id:) and order(id:)', { timeout: 60_000 }, async () => {
    const lookups = fc.oneof(
      invalidId.map((id) => ({
        query: 'query ($id: ID!) { user(id: $id) { id username } }',
        id,
        token: admin.token,
      })),
      invalidId.map((id) => ({
        query: 'query ($id: ID!) { order(id: $id) { id item } }',
        id,
        token: user.token,
      })),
      invalidId.map((id) => ({
        query: 'query ($id: ID!) { user(id: $id) { id orders { edges { cursor } } } }',
        id,
        token: admin.token,
      })),
    );
    await property(lookups, 150, async ({ query, id, token }) => {
      expectSafe(await postJson({ query, variables: { id } }, token));
    });
  });

  // Only the router can sign a request, but it forwards representations built from another
  // subgraph's data: a subgraph must refuse a bad one with a code, as it does a bad argument.
  it(
    'invalid ids in _entities representations, straight at each subgraph',
    { timeout: 60_000 },
    async () => {
      await property(
        fc.tuple(
          fc.constantFrom('users' as const, 'orders' as const),
          fc.constantFrom('User', 'Order'),
          invalidId,
        ),
        100,
        async ([subgraph, typename, id]) => {
          const response = await graph.requestSubgraph(
            subgraph,
            'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } ... on Order { id } } }',
            {
              identity: createIdentity(admin.userId, 'ADMIN'),
              variables: { r: [{ __typename: typename, id }] },
            },
          );
          expectSafe({ status: response.status, text: JSON.stringify(response.body) });
        },
      );
    },
  );

  /** The answer to a body of `text`: 413 over the limit, otherwise only these codes. */
  function expectCodes(text: string, answer: Answer, allowed: readonly string[]): void {
    const codes = expectSafe(answer);
    if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
      expect(codes).toEqual(['PAYLOAD_TOO_LARGE']);
      return;
    }
    for (const code of codes) expect(allowed, answer.text.slice(0, 300)).toContain(code);
  }

  it('unicode edge cases in login usernames and passwords', { timeout: 60_000 }, async () => {
    const LOGIN =
      'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }';
    // Each login costs an argon2id hash, so fewer runs than elsewhere. A throttled login (LOGIN_THROTTLED) is an
    // acceptable coded answer.
    await property(fc.tuple(unicodeString, unicodeString), 100, async ([u, p]) => {
      const text = JSON.stringify({ query: LOGIN, variables: { u, p } });
      expectCodes(text, await postRaw(text), [
        'UNAUTHENTICATED',
        'BAD_USER_INPUT',
        'LOGIN_THROTTLED',
      ]);
    });
  });

  it('unicode edge cases in createOrder input', { timeout: 60_000 }, async () => {
    const CREATE =
      'mutation ($item: String!, $address: String!) { createOrder(input: { item: $item, address: $address }) { id } }';
    await property(fc.tuple(unicodeString, unicodeString), 150, async ([item, address]) => {
      const text = JSON.stringify({ query: CREATE, variables: { item, address } });
      const answer = await postRaw(text, { authorization: `Bearer ${user.token}` });
      expectCodes(text, answer, ['BAD_USER_INPUT']);
    });
  });
});

/**
 * Cases the properties above found, kept as plain examples so that they stay fixed whatever
 * fast-check happens to generate next time.
 */
describe('found by fuzzing', () => {
  it.each([
    [
      'an operationName the document does not have',
      { query: '{ __typename }', operationName: 'nope' },
    ],
    [
      'no operationName for a document with two operations',
      { query: 'query A { __typename } query B { __typename }' },
    ],
  ])('%s is a 400 OPERATION_RESOLUTION_FAILURE, not a 500', async (_case, body) => {
    const answer = await postJson(body);
    expect(expectSafe(answer)).toEqual(['OPERATION_RESOLUTION_FAILURE']);
    expect(answer.status).toBe(400);
  });

  it.each([
    ['users', 'User', null],
    ['orders', 'User', null],
    ['orders', 'User', {}],
    ['orders', 'User', true],
  ] as const)(
    'the %s subgraph refuses a %s representation with id %j with a code',
    async (subgraph, typename, id) => {
      const response = await graph.requestSubgraph(
        subgraph,
        'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }',
        {
          identity: createIdentity(admin.userId, 'ADMIN'),
          variables: { r: [{ __typename: typename, id }] },
        },
      );
      expect(response.body.data).toEqual({ _entities: [null] });
      expect(response.body.errors?.map((error) => error.extensions?.['code'])).toEqual([
        'BAD_USER_INPUT',
      ]);
    },
  );
});
