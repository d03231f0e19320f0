import { readFileSync } from 'node:fs';
import { Supergraph } from '@apollo/federation-internals';
import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { HttpError } from '@supergraph/service-kit';
import { loadRouterConfig } from '../config.js';
import { prepareSupergraph } from '../supergraph.js';
import { checkOperationLimits } from './limits.js';
import type { RequestOperation } from './requestOperations.js';

const { limits } = loadRouterConfig({ IDENTITY_SIGNING_SECRET: 'k'.repeat(64) });
const schema = Supergraph.build(
  prepareSupergraph(readFileSync(new URL('../../../supergraph.graphql', import.meta.url), 'utf8'))
    .sdl,
)
  .apiSchema()
  .toGraphQLJSSchema();

/** The code the limits refuse `query` with, or null when it passes. */
function refusal(query: string, request: Omit<RequestOperation, 'query'> = {}): string | null {
  try {
    checkOperationLimits(limits, [{ ...request, query }], schema);
    return null;
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/\d/);
    return error.code;
  }
}

const repeat = (count: number, make: (index: number) => string) =>
  Array.from({ length: count }, (_, index) => make(index)).join(' ');

describe('request limits', () => {
  it('are graphql-armor’s defaults', () => {
    expect(limits).toEqual({
      maxDepth: 6,
      maxAliases: 15,
      maxDirectives: 50,
      maxTokens: 1000,
      maxFieldRepeats: 3,
      maxCost: 5000,
      oncePerRequest: ['Mutation.login', 'Mutation.updateUser'],
    });
  });

  it('run a login or a user update once per request, however it is dressed up', () => {
    const login = (alias: string) =>
      `${alias}: login(username: "u", password: "p") { accessToken }`;
    expect(refusal(`mutation { ${login('a')} }`)).toBeNull();
    expect(refusal(`mutation { ${login('a')} ${login('b')} }`)).toBe('ONCE_PER_REQUEST_LIMIT');
    // Apart in the plan, with another subgraph's field between them: still one request.
    expect(
      refusal(
        `mutation { ${login('a')} createOrder(input: { item: "x", address: "y" }) { id } ${login('b')} }`,
      ),
    ).toBe('ONCE_PER_REQUEST_LIMIT');
    expect(
      refusal(
        `mutation { ${login('a')} ...L ... on Mutation { ${login('c')} } } fragment L on Mutation { ${login('b')} }`,
      ),
    ).toBe('ONCE_PER_REQUEST_LIMIT');
    const update = (alias: string) =>
      `${alias}: updateUser(id: "1", input: { password: "new password" }) { id }`;
    expect(refusal(`mutation { ${update('a')} ${update('b')} }`)).toBe('ONCE_PER_REQUEST_LIMIT');
    // Fields that hash nothing may repeat.
    expect(
      refusal('mutation { a: logout(refreshToken: "x") b: logout(refreshToken: "y") }'),
    ).toBeNull();
  });

  it('let every operation of our own clients through', () => {
    const manifest: Record<string, string> = JSON.parse(
      readFileSync(
        new URL('../../../examples/web/src/gql/persisted-documents.json', import.meta.url),
        'utf8',
      ),
    );
    expect(Object.keys(manifest).length).toBeGreaterThan(0);
    for (const document of Object.values(manifest)) {
      expect(refusal(document, { variables: { first: 100 } }), document).toBeNull();
    }
  });

  it('count depth in fields, through fragments', () => {
    // me > orders > edges > node > user > username: 6 levels.
    const six = '{ me { orders { edges { node { user { username } } } } } }';
    expect(refusal(six)).toBeNull();
    expect(
      refusal(
        '{ me { orders { edges { node { user { orders { pageInfo { hasNextPage } } } } } } } }',
      ),
    ).toBe('MAX_DEPTH_LIMIT');
    expect(
      refusal(
        '{ me { ...Deep } } fragment Deep on User { orders { edges { node { user { orders { pageInfo { hasNextPage } } } } } } }',
      ),
    ).toBe('MAX_DEPTH_LIMIT');
  });

  it('stop circular introspection', () => {
    expect(
      refusal('{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }'),
    ).toBe('MAX_DEPTH_LIMIT');
  });

  it('count every alias, those of __typename too, and each time a fragment is spread', () => {
    expect(refusal(`{ ${repeat(15, (i) => `a${i}: __typename`)} }`)).toBeNull();
    expect(refusal(`{ ${repeat(16, (i) => `a${i}: __typename`)} }`)).toBe('MAX_ALIASES_LIMIT');
    expect(refusal(`{ ${repeat(101, (i) => `a${i}: __typename`)} }`)).toBe('MAX_ALIASES_LIMIT');
    // Four aliases, spread four times, is sixteen aliased fields executed.
    expect(
      refusal(`{ me { ...A ...A ...A ...A } } fragment A on User { a: id b: id c: id d: id }`),
    ).toBe('MAX_ALIASES_LIMIT');
  });

  it('count directives', () => {
    expect(refusal(`{ __typename ${repeat(50, () => '@include(if: true)')} }`)).toBeNull();
    expect(refusal(`{ __typename ${repeat(51, () => '@include(if: true)')} }`)).toBe(
      'MAX_DIRECTIVES_LIMIT',
    );
  });

  it('count tokens before parsing, comments excluded', () => {
    // `{`, `}` and 998 names: 1000 tokens.
    expect(refusal(`{ ${repeat(998, () => 'a')} } # ${'x'.repeat(5000)}`)).not.toBe(
      'MAX_TOKENS_LIMIT',
    );
    expect(refusal(`{ ${repeat(999, () => 'a')} }`)).toBe('MAX_TOKENS_LIMIT');
    // Not even valid GraphQL: refused on length, without a parse.
    expect(refusal(`{ ${repeat(5000, () => '(')}`)).toBe('MAX_TOKENS_LIMIT');
  });

  it('refuse one field selected over and over (field duplication)', () => {
    expect(refusal('{ __typename __typename __typename }')).toBeNull();
    expect(refusal(`{ ${repeat(500, () => '__typename')} }`)).toBe('MAX_FIELD_REPEATS_LIMIT');
    expect(refusal(`{ me { ${repeat(4, () => 'id')} } }`)).toBe('MAX_FIELD_REPEATS_LIMIT');
  });

  it('estimate cost from the page sizes asked for, in literals, variables and defaults', () => {
    const nested = (first: string) =>
      `query ($n: Int) { users(first: ${first}) { edges { node { orders(first: ${first}) { pageInfo { hasNextPage } } } } } }`;
    // 10 users with 10 orders each is cheap (330); 100 with 100 is 10,000 orders (30,300).
    expect(refusal(nested('10'))).toBeNull();
    expect(refusal(nested('100'))).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
    expect(refusal(nested('$n'), { variables: { n: 100 } })).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
    expect(refusal(nested('$n'), { variables: { n: 5 } })).toBeNull();
    // Unset, `first` is its default, 20, on both: 1,260.
    expect(refusal(nested('$n'))).toBeNull();
    expect(refusal(nested('$n'), { variables: { n: 50 } })).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
  });

  it('take a default that the operation gives a variable', () => {
    const defaulted = (value: number) =>
      `query ($n: Int = ${value}) { users(first: $n) { edges { node { orders(first: $n) { pageInfo { hasNextPage } } } } } }`;
    expect(refusal(defaulted(100))).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
    expect(refusal(defaulted(10))).toBeNull();
    // What the request sends wins over the default.
    expect(refusal(defaulted(100), { variables: { n: 10 } })).toBeNull();
    // Names every object inherits read the request's variables, never Object.prototype.
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(refusal(defaulted(100).replaceAll('$n', `$${name}`)), name).toBe(
        'COST_ESTIMATED_TOO_EXPENSIVE',
      );
    }
  });

  it('count a field repeated through fragments, as it executes: merged into one selection set', () => {
    expect(refusal(`{ ${repeat(200, () => '... { __typename }')} }`)).toBe(
      'MAX_FIELD_REPEATS_LIMIT',
    );
    expect(refusal(`{ me { ...F ...F ...F ...F } } fragment F on User { id }`)).toBe(
      'MAX_FIELD_REPEATS_LIMIT',
    );
    expect(refusal(`{ me { id ... on User { id } ...F } } fragment F on User { id }`)).toBeNull();
    expect(refusal(`{ me { id ... on User { id } ...F ...F } } fragment F on User { id }`)).toBe(
      'MAX_FIELD_REPEATS_LIMIT',
    );
  });

  it('count fragments on the object types of an abstract type apart', () => {
    const abstract = buildSchema(`
      interface Node { id: ID! }
      type A implements Node { id: ID! }
      type B implements Node { id: ID! }
      type C implements Node { id: ID! }
      type D implements Node { id: ID! }
      type Query { node: Node }
    `);
    const check = (query: string) => {
      try {
        checkOperationLimits(limits, [{ query }], abstract);
        return null;
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        return error.code;
      }
    };
    // Four object types each selecting `id` select it once for any one node.
    expect(
      check('{ node { ... on A { id } ... on B { id } ... on C { id } ... on D { id } } }'),
    ).toBeNull();
    expect(check(`{ node { ${repeat(4, () => '... on A { id }')} } }`)).toBe(
      'MAX_FIELD_REPEATS_LIMIT',
    );
  });

  it('measure every operation of a document when the request picks none of them', () => {
    const document = `query Small { __typename } query Big { ${repeat(101, (i) => `a${i}: __typename`)} }`;
    expect(refusal(document, { operationName: 'Big' })).toBe('MAX_ALIASES_LIMIT');
    expect(refusal(document, { operationName: 'Small' })).toBeNull();
    // No name, or one that is not there: Apollo Server refuses the request, and so do the limits
    // rather than guess which operation it would run.
    expect(refusal(document)).toBe('MAX_ALIASES_LIMIT');
    expect(refusal(document, { operationName: 'Other' })).toBe('MAX_ALIASES_LIMIT');
  });

  it('leave a document that does not parse, or names no operation there is, to Apollo Server', () => {
    expect(refusal('{ me { ')).toBeNull();
    expect(refusal('query A { me { id } }', { operationName: 'B' })).toBeNull();
  });
});
