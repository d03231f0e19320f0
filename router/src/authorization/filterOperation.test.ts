import { buildSchema, executeSync, parse, print, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createIdentity, type Identity } from '@supergraph/identity';
import { completeResponse, withAuthorizationErrors } from './completeResponse.js';
import { filterOperation, routerPath, type FilteredOperation } from './filterOperation.js';
import { readAccessRequirements } from './requirements.js';

/**
 * The router's authorization filter, one rule at a time, on schemas written after Apollo
 * Router's documentation (the blog posts behind an interface, scopes as an OR of ANDs). Router's
 * own cases run in filterOperation.cases.test.ts; the same rules through the real router and
 * subgraphs that count their requests are in AuthorizingGateway.test.ts.
 */
const DIRECTIVES = `
  directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
  directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
`;
const FEATURES = [
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
];

const BLOG = `${DIRECTIVES}
  interface Post { id: ID! title: String! }
  type Stats { views: Int }
  type PublicBlog implements Post { id: ID! title: String! stats: Stats @authenticated }
  type PrivateBlog implements Post @authenticated { id: ID! title: String! publishAt: String }
  scalar Internal @requiresScopes(scopes: [["internal"]])
  enum Level @authenticated { LOW HIGH }
  type Audit @requiresScopes(scopes: [["admin"], ["auditor", "staff"]]) { id: ID! }
  type Author { name: String! email: String @authenticated phone: String! @authenticated }
  union Found = PublicBlog | PrivateBlog
  type Query {
    post(id: ID!): Post
    posts: [Post!]!
    found: [Found!]!
    authors: [Author!]
    author(id: ID): Author
    audits: [Audit!]!
    internal: Internal
    level: Level
    hello: String
  }
  type Mutation @authenticated { publish(id: ID!): Post }
`;

function fixture(sdl: string) {
  const schema = buildSchema(sdl);
  const requirements = readAccessRequirements(parse(sdl), FEATURES);
  const filter = (query: string, identity: Identity | null, dryRun = false) =>
    filterOperation(schema, parse(query), requirements, identity, { dryRun });
  return { schema, requirements, filter };
}
const blog = fixture(BLOG);

const anonymous = null;
const user = createIdentity('u1', 'USER');
const admin = createIdentity('a1', 'ADMIN');

const paths = (filtered: FilteredOperation | null) =>
  filtered?.removed.map((removed) => routerPath(removed.path));
/** The filtered document, less the router's own `__typename` for abstract values. */
const printed = (filtered: FilteredOperation | null) =>
  filtered && print(filtered.document).replace(/\n\s*_routerRuntimeType: __typename/g, '');

/** Filters `query`, "executes" the rest with graphql-js over `root`, and completes the response. */
function run(query: string, identity: Identity | null, root: Record<string, unknown>) {
  const original = parse(query);
  const filtered = filterOperation(blog.schema, original, blog.requirements, identity);
  if (!filtered) return { filtered, response: null };
  const result = filtered.empty
    ? { data: null }
    : completeResponse({
        schema: blog.schema,
        original,
        operationName: undefined,
        variables: {},
        filtered,
        result: executeSync({
          schema: blog.schema,
          document: filtered.document,
          rootValue: root,
          typeResolver: (value) =>
            typeof value === 'object' && value !== null && 'publishAt' in value
              ? 'PrivateBlog'
              : 'PublicBlog',
        }),
      });
  // Through JSON, as a client sees it.
  const response: ExecutionResult = JSON.parse(
    JSON.stringify(withAuthorizationErrors(result, filtered.removed, identity, 'errors')),
  );
  return { filtered, response };
}

describe('filterOperation: fields and types', () => {
  it('leaves an operation alone when the caller may see all of it', () => {
    expect(blog.filter('{ author { email } audits { id } }', admin)).toBeNull();
    expect(
      blog.filter('{ hello post(id: 1) { ... on PublicBlog { title } } }', anonymous),
    ).toBeNull();
  });

  it('takes out a field whose own requirement the caller fails, and only that', () => {
    const filtered = blog.filter('{ author { name email } }', anonymous);
    expect(paths(filtered)).toEqual(['/author/email']);
    expect(printed(filtered)).toBe('{\n  author {\n    name\n  }\n}');
  });

  it('takes out a field whose type (object, scalar, enum) the caller may not see', () => {
    expect(paths(blog.filter('{ audits { id } internal level hello }', user))).toEqual([
      '/audits/@',
      '/internal',
    ]);
    expect(paths(blog.filter('{ level hello }', anonymous))).toEqual(['/level']);
  });

  it('reads @requiresScopes as an OR of ANDs', () => {
    const query = '{ audits { id } }';
    const withScopes = (...scopes: string[]): Identity => ({ id: 'x', role: 'USER', scopes });
    expect(blog.filter(query, withScopes('admin'))).toBeNull();
    expect(blog.filter(query, withScopes('auditor', 'staff'))).toBeNull();
    expect(paths(blog.filter(query, withScopes('auditor')))).toEqual(['/audits/@']);
  });

  it('takes out a parent left with nothing to select, reporting only the child', () => {
    const filtered = blog.filter('{ hello author { email } }', anonymous);
    expect(paths(filtered)).toEqual(['/author/email']);
    expect(printed(filtered)).toBe('{\n  hello\n}');
  });

  it('does not run an operation left with nothing at all', () => {
    const filtered = blog.filter('{ author { email } audits { id } }', anonymous);
    expect(filtered?.empty).toBe(true);
    expect(paths(filtered)).toEqual(['/author/email', '/audits/@']);
  });

  it('takes out the whole operation when its root type has a requirement', () => {
    const filtered = blog.filter('mutation { publish(id: 1) { id } }', anonymous);
    expect(filtered?.empty).toBe(true);
    expect(paths(filtered)).toEqual(['']);
    expect(blog.filter('mutation { publish(id: 1) { id } }', user)).toBeNull();
  });

  it('drops the variables and fragments that only the removed selections used', () => {
    const filtered = blog.filter(
      'query Q($id: ID, $skip: Boolean!) { hello @skip(if: $skip) author(id: $id) { email } ...Stats } fragment Stats on Query { author { phone } }',
      anonymous,
    );
    expect(printed(filtered)).toBe('query Q($skip: Boolean!) {\n  hello @skip(if: $skip)\n}');
    expect(paths(filtered)).toEqual(['/author/email', '/author/phone']);
  });
});

describe('filterOperation: interfaces and unions, as in Router’s blog example', () => {
  it('keeps the fragments on the types the caller may see', () => {
    const filtered = blog.filter(
      '{ posts { ... on PublicBlog { title } ... on PrivateBlog { title publishAt } } }',
      anonymous,
    );
    expect(paths(filtered)).toEqual(['/posts/@/... on PrivateBlog']);
    expect(printed(filtered)).toBe(
      '{\n  posts {\n    ... on PublicBlog {\n      title\n    }\n  }\n}',
    );
  });

  it('does not refuse __typename alone, on an interface or a union', () => {
    expect(
      blog.filter('{ post(id: 1) { __typename } found { __typename } }', anonymous),
    ).toBeNull();
  });

  it('takes out a field that selects from the interface while an implementation is protected', () => {
    const filtered = blog.filter('{ hello posts { id } }', anonymous);
    expect(paths(filtered)).toEqual(['/posts/@']);
    expect(printed(filtered)).toBe('{\n  hello\n}');
  });

  it('reads a fragment on the interface itself as selecting from it, where Router does not', () => {
    // Router exempts every fragment; `... on Post { title }` would then read a PrivateBlog's title.
    for (const query of [
      '{ post(id: 1) { ... on Post { title } } }',
      '{ post(id: 1) { ... { title } } }',
      '{ post(id: 1) { ...P } } fragment P on Post { title }',
    ]) {
      expect(paths(blog.filter(query, anonymous)), query).toEqual(['/post']);
    }
    expect(blog.filter('{ post(id: 1) { ... on Post { __typename } } }', anonymous)).toBeNull();
  });

  it('takes out an interface field that some implementation protects', () => {
    const sdl = `${DIRECTIVES}
      interface Item { id: ID! secret: String }
      type Book implements Item { id: ID! secret: String @authenticated }
      type Pen implements Item { id: ID! secret: String }
      type Query { items: [Item!]! }
    `;
    const filtered = fixture(sdl).filter('{ items { id secret } }', anonymous);
    expect(paths(filtered)).toEqual(['/items/@/secret']);
    expect(printed(filtered)).toBe('{\n  items {\n    id\n  }\n}');
  });

  it('takes out fragments on a union member the caller may not see', () => {
    const filtered = blog.filter(
      '{ found { ... on PublicBlog { id } ...Private } } fragment Private on PrivateBlog { id }',
      anonymous,
    );
    // Router reports a fragment taken out whole where it is spread: at `found`'s items.
    expect(paths(filtered)).toEqual(['/found/@']);
    expect(printed(filtered)).toBe(
      '{\n  found {\n    ... on PublicBlog {\n      id\n    }\n  }\n}',
    );
  });
});

describe('filterOperation: dry run', () => {
  it('reports what would go and takes nothing out', () => {
    const query = '{ hello author { email } }';
    const filtered = blog.filter(query, anonymous, true);
    expect(paths(filtered)).toEqual(['/author/email']);
    expect(filtered?.empty).toBe(false);
    expect(print(filtered!.document)).toBe(print(parse(query)));
  });

  it('reports a fragment on a type the caller may not see once, as a real run does', () => {
    const query =
      '{ found { ... on PublicBlog { id } ...Private } } fragment Private on PrivateBlog { id }';
    expect(paths(blog.filter(query, anonymous, true))).toEqual(
      paths(blog.filter(query, anonymous)),
    );
  });
});

describe('the response', () => {
  it('is null where a field was taken out, with one error per selection at Router’s path', () => {
    const { response } = run('{ authors { name e: email } }', anonymous, {
      authors: [{ name: 'a' }, { name: 'b' }],
    });
    expect(response?.data).toEqual({
      authors: [
        { name: 'a', e: null },
        { name: 'b', e: null },
      ],
    });
    // One error for the selection, not one per item: a long list does not make a long answer.
    expect(response?.errors?.map((e) => [e.path, e.extensions?.['code']])).toEqual([
      [['authors', '@', 'e'], 'UNAUTHORIZED_FIELD_OR_TYPE'],
    ]);
    expect(response?.errors?.[0]?.message).toBe(
      'Log in to read Author.email: send an access token in the Authorization header.',
    );
  });

  it('nulls the parent of a non-null field that was taken out, as the GraphQL spec has it', () => {
    const { response } = run('{ author { name phone } }', anonymous, { author: { name: 'a' } });
    expect(response?.data).toEqual({ author: null });
    expect(response?.errors?.map((e) => e.path)).toEqual([['author', 'phone']]);
  });

  it('is data: null with the errors when nothing was left to run', () => {
    const { response } = run('{ audits { id } }', user, {});
    expect(response).toEqual({
      data: null,
      errors: [
        {
          message:
            'Your access token lacks the scope admin or auditor + staff, which Audit requires.',
          path: ['audits', '@'],
          extensions: { code: 'UNAUTHORIZED_FIELD_OR_TYPE' },
        },
      ],
    });
  });

  it('is null, not an error, for a parent emptied by the filter', () => {
    const { response } = run('{ hello author { email } }', anonymous, { hello: 'hi' });
    expect(response?.data).toEqual({ hello: 'hi', author: null });
    expect(response?.errors?.map((e) => e.path)).toEqual([['author', 'email']]);
  });

  it('completes interface values of the kinds the caller may see', () => {
    const { response } = run(
      '{ posts { ... on PublicBlog { title stats { views } } ... on PrivateBlog { publishAt } } }',
      anonymous,
      {
        posts: [
          { id: '1', title: 'public' },
          { id: '2', title: 'private', publishAt: 'soon' },
        ],
      },
    );
    expect(response?.data).toEqual({ posts: [{ title: 'public', stats: null }, {}] });
    expect(response?.errors?.map((e) => e.path)).toEqual([
      ['posts', '@', '... on PublicBlog', 'stats'],
      ['posts', '@', '... on PrivateBlog'],
    ]);
  });

  it('keeps a null that came from a failed subgraph as it is, with no extra error', () => {
    const original = parse('{ hello author { name email } }');
    const filtered = blog.filter('{ hello author { name email } }', anonymous);
    const completed = completeResponse({
      schema: blog.schema,
      original,
      operationName: undefined,
      variables: {},
      filtered: filtered!,
      result: { data: { hello: 'hi', author: null }, errors: [] },
    });
    expect(completed.data).toEqual({ hello: 'hi', author: null });
    expect(completed.errors).toBeUndefined();
  });

  it('puts the errors where the settings say: errors, extensions, or nowhere', () => {
    const filtered = blog.filter('{ hello author { email } }', anonymous)!;
    const result = { data: { hello: 'hi', author: null } };
    const [inErrors, inExtensions, disabled] = (['errors', 'extensions', 'disabled'] as const).map(
      (where) =>
        JSON.parse(
          JSON.stringify(withAuthorizationErrors(result, filtered.removed, anonymous, where)),
        ),
    );
    expect(inErrors.errors).toHaveLength(1);
    expect(inErrors.extensions).toBeUndefined();
    expect(inExtensions.errors).toBeUndefined();
    expect(inExtensions.extensions.authorizationErrors).toEqual(inErrors.errors);
    expect(disabled).toEqual(result);
  });

  it('tells an anonymous caller to log in, and names the scope a token would need', () => {
    const { response } = run('{ internal }', anonymous, {});
    expect(response?.errors?.[0]?.message).toBe(
      'Log in to read Internal: send an access token in the Authorization header (one with the scope internal).',
    );
  });
});

describe('filterOperation: documents validation would refuse', () => {
  it('ends on a fragment cycle instead of recursing without end', () => {
    const filtered = blog.filter(
      '{ author { ...A } } fragment A on Author { email ...B } fragment B on Author { name ...A }',
      anonymous,
    );
    expect(paths(filtered)).toContain('/author/email');
  });
});
