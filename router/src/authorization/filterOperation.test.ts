import { buildSchema, executeSync, parse, print, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createIdentity, type Identity } from '@supergraph/identity';
import { completeResponse, filterOperation } from './filterOperation.js';
import { readAccessRequirements } from './requirements.js';

/**
 * The router's authorization on a schema that uses what ours does not yet: the directives on
 * types, interfaces, lists of non-null items. The end-to-end behaviour on the real graph is in
 * test/router-authorization.int.test.ts.
 */
const SDL = `
  directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
  directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
  interface Node { id: ID! }
  type Post implements Node { id: ID! title: String! draft: String @authenticated }
  type Audit implements Node @requiresScopes(scopes: [["admin"], ["auditor", "staff"]]) { id: ID! }
  type Query {
    post: Post
    posts: [Post!]
    audits: [Audit!]!
    node: Node
  }
`;
const schema = buildSchema(SDL);
const requirements = readAccessRequirements(parse(SDL), [
  {
    url: 'https://specs.apollo.dev/authenticated/v0.1',
    name: 'authenticated',
    directive: 'authenticated',
  },
  {
    url: 'https://specs.apollo.dev/requiresScopes/v0.1',
    name: 'requiresScopes',
    directive: 'requiresScopes',
  },
])(schema);

const anonymous = null;
const user = createIdentity('u1', 'USER');
const admin = createIdentity('a1', 'ADMIN');

/** Filters `query` for `identity`, "executes" it with `data`, and completes the response. */
function run(query: string, identity: Identity | null, data: Record<string, unknown>) {
  const document = parse(query);
  const filtered = filterOperation(schema, document, undefined, requirements, identity);
  if (!filtered) return { filtered: null, response: null };
  const result: ExecutionResult = { data };
  // Through JSON, as a client sees it: errors become their serialized form.
  const response: ExecutionResult = JSON.parse(
    JSON.stringify(
      completeResponse({
        schema,
        original: document,
        operationName: undefined,
        variables: {},
        filtered,
        result,
        requirements,
        identity,
      }),
    ),
  );
  return { filtered, response };
}

describe('filterOperation', () => {
  it('leaves an operation alone when the caller may see all of it', () => {
    expect(
      filterOperation(schema, parse('{ post { id draft } }'), undefined, requirements, user),
    ).toBeNull();
  });

  it('takes out a field, and keeps its parent with __typename when nothing else is left', () => {
    const { filtered } = run('{ post { draft } }', anonymous, {});
    expect(filtered?.denied).toEqual(['Post.draft']);
    expect(print(filtered!.document)).toBe('{\n  post {\n    __typename\n  }\n}');
    expect(filtered?.empty).toBe(false);
  });

  it('nulls the field in every list item, with an error at each path', () => {
    const { response } = run('{ posts { title draft } }', anonymous, {
      posts: [{ title: 'a' }, { title: 'b' }],
    });
    expect(response?.data).toEqual({
      posts: [
        { title: 'a', draft: null },
        { title: 'b', draft: null },
      ],
    });
    expect(response?.errors?.map((e) => [e.path, e.extensions?.['code']])).toEqual([
      [['posts', 0, 'draft'], 'UNAUTHORIZED_FIELD_OR_TYPE'],
      [['posts', 1, 'draft'], 'UNAUTHORIZED_FIELD_OR_TYPE'],
    ]);
  });

  it('denies a field whose type needs a scope, OR of ANDs', () => {
    const query = '{ audits { id } post { title } }';
    const { filtered, response } = run(query, user, { post: { title: 't' } });
    expect(filtered?.denied).toEqual(['Query.audits']);
    // `audits: [Audit!]!` is non-null, so the whole data is null, as graphql-js would have it.
    expect(response?.data).toBeNull();
    expect(response?.errors?.[0]?.message).toBe(
      'Your access token lacks the scope admin or auditor + staff, which Query.audits requires.',
    );
    expect(run(query, admin, {}).filtered).toBeNull();
    const auditor: Identity = { id: 'x', role: 'USER', scopes: ['auditor', 'staff'] };
    expect(run(query, auditor, {}).filtered).toBeNull();
    const halfAuditor: Identity = { id: 'x', role: 'USER', scopes: ['auditor'] };
    expect(run(query, halfAuditor, {}).filtered?.denied).toEqual(['Query.audits']);
  });

  it('needs, for an interface field, what every implementation needs', () => {
    const { filtered } = run('{ node { id } }', user, {});
    expect(filtered?.denied).toContain('Query.node');
    expect(filtered?.empty).toBe(true);
  });

  it('takes out inline fragments and fragment spreads on a type the caller may not see', () => {
    const { filtered } = run(
      '{ post { id ...A ... on Post { title } } } fragment A on Audit { id }',
      admin,
      {},
    );
    expect(filtered).toBeNull();
    const denied = filterOperation(
      schema,
      parse('query Q { post { title ... on Audit { id } ...A } } fragment A on Audit { id }'),
      'Q',
      requirements,
      user,
    );
    expect(denied?.denied).toEqual(['Audit']);
    expect(print(denied!.document)).not.toMatch(/on Audit \{\s+id\s+\}\s+\.\.\.A/);
    expect(print(denied!.document)).toMatch(/post \{\s+title\s+\}/);
  });

  it('reports denied fields under their aliases', () => {
    const { response } = run('{ a: post { d: draft } }', anonymous, { a: { __typename: 'Post' } });
    expect(response?.data).toEqual({ a: { d: null } });
    expect(response?.errors?.[0]?.path).toEqual(['a', 'd']);
  });

  it('keeps a null that came from a failed subgraph as it is, with no extra error', () => {
    const { response } = run('{ post { title draft } posts { id } }', anonymous, {
      post: { title: 't' },
      posts: null,
    });
    expect(response?.data).toEqual({ post: { title: 't', draft: null }, posts: null });
    expect(response?.errors).toHaveLength(1);
  });

  it('completes values of an interface or union type, whose object type it asks for', () => {
    const sdl = `
      directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
      interface Item { id: ID! }
      type Book implements Item { id: ID! secret: String @authenticated }
      type Pen implements Item { id: ID! }
      union Found = Book | Pen
      type Query { item: Item items: [Item!]! found: Found }
    `;
    const abstractSchema = buildSchema(sdl);
    const abstractRequirements = readAccessRequirements(parse(sdl), [
      {
        url: 'https://specs.apollo.dev/authenticated/v0.1',
        name: 'authenticated',
        directive: 'authenticated',
      },
    ])(abstractSchema);
    const book = { __typename: 'Book', id: 'b1', secret: 's' };
    const pen = { __typename: 'Pen', id: 'p1' };
    // The caller's own `_routerRuntimeType` alias must not clash with the router's.
    const original = parse(
      '{ item { _routerRuntimeType: id ... on Book { secret } } items { ... on Book { secret } } found { ... on Pen { id } } }',
    );
    const filtered = filterOperation(
      abstractSchema,
      original,
      undefined,
      abstractRequirements,
      anonymous,
    );
    expect(filtered?.denied).toEqual(['Book.secret']);
    // The gateway's part, played by graphql-js over plain objects.
    const result = executeSync({
      schema: abstractSchema,
      document: filtered!.document,
      rootValue: { item: book, items: [book, pen], found: pen },
    });
    const response: ExecutionResult = JSON.parse(
      JSON.stringify(
        completeResponse({
          schema: abstractSchema,
          original,
          operationName: undefined,
          variables: {},
          filtered: filtered!,
          result,
          requirements: abstractRequirements,
          identity: anonymous,
        }),
      ),
    );
    expect(response.data).toEqual({
      item: { _routerRuntimeType: 'b1', secret: null },
      items: [{ secret: null }, {}],
      found: { id: 'p1' },
    });
    expect(response.errors?.map((error) => [error.path, error.extensions?.['code']])).toEqual([
      [['item', 'secret'], 'UNAUTHORIZED_FIELD_OR_TYPE'],
      [['items', 0, 'secret'], 'UNAUTHORIZED_FIELD_OR_TYPE'],
    ]);
  });

  it('applies a requirement on a root operation type to every field of it', () => {
    const rootSdl = `
      directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
      type Query { hello: String }
      type Mutation @authenticated { ping: String pong: String }
    `;
    const rootSchema = buildSchema(rootSdl);
    const rootRequirements = readAccessRequirements(parse(rootSdl), [
      {
        url: 'https://specs.apollo.dev/authenticated/v0.1',
        name: 'authenticated',
        directive: 'authenticated',
      },
    ])(rootSchema);
    const filter = (query: string, identity: Identity | null) =>
      filterOperation(rootSchema, parse(query), undefined, rootRequirements, identity);
    const denied = filter('mutation { ping pong }', anonymous);
    expect(denied?.denied).toEqual(['Mutation.ping', 'Mutation.pong']);
    expect(denied?.empty).toBe(true);
    expect(filter('mutation { ping }', user)).toBeNull();
    expect(filter('{ hello }', anonymous)).toBeNull();
  });
});
