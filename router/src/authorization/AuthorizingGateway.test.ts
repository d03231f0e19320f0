import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse, print, visit, type GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listen, type RunningHttpServer } from '@supergraph/service-kit';
import {
  compose,
  createRouterHarness,
  readBody,
  request,
  SubgraphRequestBody,
  type GraphQLResponse,
  type RouterHarness,
  type RunningRouter,
} from '../testing/routerHarness.js';

/**
 * The router's `@authenticated` / `@requiresScopes` enforcement end to end: the real router
 * (createRouter, over HTTP on port 0) in front of stub subgraphs that answer everything they are
 * asked and record each query. A selection the router took out is one the stubs never see, so
 * each test checks what the caller gets and what the subgraphs were asked. The rules and the
 * settings are Apollo Router 2.13's (README, "Authorization"); filterOperation.cases.test.ts
 * checks the filter itself against Router's own cases.
 */

const FEDERATION = 'https://specs.apollo.dev/federation/v2.9';

/** Products, posts and everything protected by a type; the stub answers every field. */
const catalogSchema = buildSubgraphSchema({
  typeDefs: parse(`
    extend schema
      @link(url: "${FEDERATION}", import: ["@key", "@authenticated", "@requiresScopes"])

    type Query {
      greeting: String
      secret: String @authenticated
      adminNote: String @requiresScopes(scopes: [["admin"]])
      report: Report
      internal: Internal
      level: Level
      product(id: ID!): Product
      topProducts: [Product!]!
      post(id: ID!): Post
      story: Story
      search: [SearchResult!]!
    }

    type Report @authenticated { title: String }
    scalar Internal @authenticated
    enum Level @requiresScopes(scopes: [["admin"]]) { LOW HIGH }

    type Product @key(fields: "id") {
      id: ID!
      name: String
      cost: Int! @requiresScopes(scopes: [["admin"]])
    }

    # Apollo Router's documentation example. The supergraph below is stripped of the
    # @authenticated that composition copies from PrivateBlog onto Post (see stripInterfaceRequirement).
    interface Post { id: ID! title: String related: Related }
    type PublicBlog implements Post { id: ID! title: String related: Related }
    type PrivateBlog implements Post @authenticated { id: ID! title: String related: Classified }
    union Related = Classified | Note
    type Classified @requiresScopes(scopes: [["classified"]]) { code: String }
    type Note { text: String }
    union SearchResult = PublicBlog | PrivateBlog

    # The same shape, left as composed: Story inherits LockedStory's @authenticated.
    interface Story { title: String }
    type OpenStory implements Story { title: String }
    type LockedStory implements Story @authenticated { title: String }
  `),
  resolvers: {
    Query: {
      greeting: () => 'hello',
      secret: () => 's3cret',
      adminNote: () => 'for admins',
      report: () => ({ title: 'Q3' }),
      internal: () => 'internal-value',
      level: () => 'HIGH',
      product: (_: unknown, { id }: { id: string }) => product(id),
      topProducts: () => [product('1'), product('2')],
      post: (_: unknown, { id }: { id: string }) => blog(id),
      story: () => ({ __typename: 'OpenStory', title: 'Once' }),
      search: () => [blog('public'), blog('private')],
    },
    Product: { __resolveReference: ({ id }: { id: string }) => product(id) },
  },
});

function product(id: string) {
  return { id, name: `Product ${id}`, cost: 100 * Number(id) };
}

function blog(id: string) {
  return id === 'private'
    ? { __typename: 'PrivateBlog', id, title: 'Private', related: { code: 'X-1' } }
    : {
        __typename: 'PublicBlog',
        id,
        title: 'Public',
        related: { __typename: 'Note', text: 'see also' },
      };
}

/** Reviews live in a subgraph of their own, so a removed `reviews` is a fetch not made. */
const reviewsSchema = buildSubgraphSchema({
  typeDefs: parse(`
    extend schema @link(url: "${FEDERATION}", import: ["@key", "@authenticated"])
    type Product @key(fields: "id") {
      id: ID!
      reviews: [Review!] @authenticated
    }
    type Review { body: String }
  `),
  resolvers: {
    Product: { reviews: ({ id }: { id: string }) => [{ body: `Great ${id}` }] },
  },
});

const accountsSchema = buildSubgraphSchema({
  typeDefs: parse(`
    extend schema @link(url: "${FEDERATION}", import: ["@authenticated"])
    type Query { status: String }
    type Mutation @authenticated { rename(name: String!): String }
  `),
  resolvers: {
    Query: { status: () => 'up' },
    Mutation: { rename: (_: unknown, { name }: { name: string }) => name },
  },
});

/** The directives imported under names of their own: the router must find them all the same. */
const vaultSchema = buildSubgraphSchema({
  typeDefs: parse(`
    extend schema
      @link(url: "${FEDERATION}",
            import: [{ name: "@authenticated", as: "@auth" },
                     { name: "@requiresScopes", as: "@scopes" }])
    type Query {
      open: String
      mine: String @auth
      admins: String @scopes(scopes: [["admin"]])
    }
  `),
  resolvers: { Query: { open: () => 'open', mine: () => 'mine', admins: () => 'admins' } },
});

/** A subgraph that answers every query it gets, and keeps the query text of each. */
interface StubSubgraph {
  readonly name: string;
  readonly schema: GraphQLSchema;
  readonly server: RunningHttpServer;
  /** The queries received since the last `beforeEach`. */
  readonly queries: string[];
}

async function startStub(name: string, schema: GraphQLSchema): Promise<StubSubgraph> {
  const queries: string[] = [];
  const server = await listen(
    (req, res) =>
      void (async () => {
        const body = SubgraphRequestBody.parse(JSON.parse(await readBody(req)));
        queries.push(body.query);
        const result = await graphql({
          schema,
          source: body.query,
          variableValues: body.variables ?? undefined,
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(result));
      })().catch((error: unknown) => {
        // Only the router calls a stub: a request it cannot read is the test's bug, said loudly.
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      }),
    { host: '127.0.0.1', port: 0 },
  );
  return { name, schema, server, queries };
}

/**
 * Composition (2.9 and later) copies each implementation's requirement onto the interface, so
 * that `interface Post` comes out `@authenticated` and every field returning it needs a login.
 * Router's rules for interfaces matter for supergraphs without that copy (older composition,
 * Router's own documentation example): this takes it back out of one interface.
 */
function stripInterfaceRequirement(supergraph: string, interfaceName: string): string {
  let stripped = false;
  const document = visit(parse(supergraph), {
    InterfaceTypeDefinition(node) {
      if (node.name.value !== interfaceName) return undefined;
      stripped = true;
      return {
        ...node,
        directives: node.directives?.filter((d) => d.name.value !== 'authenticated'),
      };
    },
  });
  if (!stripped) throw new Error(`the supergraph has no interface ${interfaceName}`);
  return print(document);
}

/**
 * The paths of the errors, each checked to be the router's refusal: UNAUTHORIZED_FIELD_OR_TYPE
 * with a message. `undefined` stands for an error without a path (the whole operation).
 */
function refusedPaths(
  errors: GraphQLResponse['errors'],
): ((string | number)[] | undefined)[] | undefined {
  return errors?.map((error) => {
    expect(error.extensions?.['code'], JSON.stringify(error)).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    expect(error.message).toMatch(/\S/);
    return error.path;
  });
}

/** Whether a query names the field (or type) `name` as a whole word. */
const names = (query: string | undefined, name: string) =>
  query !== undefined && new RegExp(`\\b${name}\\b`).test(query);

let catalog: StubSubgraph;
let reviews: StubSubgraph;
let accounts: StubSubgraph;
let vault: StubSubgraph;
let supergraph: string;
let router: RunningRouter;
let user: string;
let admin: string;

let harness: RouterHarness;

beforeAll(async () => {
  harness = await createRouterHarness();
  [catalog, reviews, accounts, vault] = await Promise.all([
    startStub('catalog', catalogSchema),
    startStub('reviews', reviewsSchema),
    startStub('accounts', accountsSchema),
    startStub('vault', vaultSchema),
  ]);
  supergraph = stripInterfaceRequirement(compose([catalog, reviews, accounts]), 'Post');
  router = await startRouter(supergraph);
  [user, admin] = await Promise.all([accessToken('USER'), accessToken('ADMIN')]);
}, 30_000);

afterAll(async () => {
  await harness?.close();
  await Promise.all([catalog, reviews, accounts, vault].map((s) => s?.server.close(1_000)));
});

const startRouter = (supergraph: string, env?: Record<string, string>) =>
  harness.startRouter(supergraph, env);
const accessToken = (role: 'USER' | 'ADMIN', scope?: string) =>
  harness.accessToken(role, { scope });

beforeEach(() => {
  for (const stub of [catalog, reviews, accounts, vault]) stub.queries.length = 0;
  router.logs.length = 0;
});

describe('a field', () => {
  it('is taken out when the caller fails its own @authenticated, and no subgraph is asked for it', async () => {
    // The logged-in caller first, then anonymous: a plan cached for one must not serve the other.
    expect(await request(router.url, '{ greeting secret }', { token: user })).toEqual({
      data: { greeting: 'hello', secret: 's3cret' },
    });
    catalog.queries.length = 0;

    const anonymous = await request(router.url, '{ greeting secret }');
    expect(anonymous.data).toEqual({ greeting: 'hello', secret: null });
    expect(refusedPaths(anonymous.errors)).toEqual([['secret']]);
    expect(anonymous.errors?.[0]?.message).toMatch(/log in/i);
    expect(catalog.queries).toHaveLength(1);
    expect(names(catalog.queries[0], 'greeting')).toBe(true);
    expect(names(catalog.queries[0], 'secret')).toBe(false);

    expect((await request(router.url, '{ greeting secret }', { token: user })).data).toEqual({
      greeting: 'hello',
      secret: 's3cret',
    });
  });

  it('is taken out when the caller lacks the scopes of its own @requiresScopes', async () => {
    const plainUser = await request(router.url, '{ greeting adminNote }', { token: user });
    expect(plainUser.data).toEqual({ greeting: 'hello', adminNote: null });
    expect(refusedPaths(plainUser.errors)).toEqual([['adminNote']]);
    expect(plainUser.errors?.[0]?.message).toMatch(/scope admin/);
    expect(catalog.queries.some((query) => names(query, 'adminNote'))).toBe(false);

    // The scope, whether the role grants it or the token's scope claim does.
    const scoped = await accessToken('USER', 'reports admin');
    for (const token of [admin, scoped]) {
      expect(await request(router.url, '{ greeting adminNote }', { token })).toEqual({
        data: { greeting: 'hello', adminNote: 'for admins' },
      });
    }
  });

  it('is taken out when the caller fails the requirement of the object type it returns', async () => {
    const anonymous = await request(router.url, '{ greeting report { title } }');
    expect(anonymous.data).toEqual({ greeting: 'hello', report: null });
    expect(refusedPaths(anonymous.errors)).toEqual([['report']]);
    expect(catalog.queries.some((query) => names(query, 'report'))).toBe(false);

    expect(await request(router.url, '{ report { title } }', { token: user })).toEqual({
      data: { report: { title: 'Q3' } },
    });
  });

  it('is taken out when the caller fails the requirement of the scalar or enum it returns', async () => {
    const anonymous = await request(router.url, '{ greeting internal level }');
    expect(anonymous.data).toEqual({ greeting: 'hello', internal: null, level: null });
    expect(refusedPaths(anonymous.errors)).toEqual([['internal'], ['level']]);
    expect(catalog.queries).toEqual([expect.not.stringMatching(/\b(internal|level)\b/)]);

    // Logged in passes `scalar Internal @authenticated`, not the admin scope `enum Level` needs.
    const plainUser = await request(router.url, '{ internal level }', { token: user });
    expect(plainUser.data).toEqual({ internal: 'internal-value', level: null });
    expect(refusedPaths(plainUser.errors)).toEqual([['level']]);

    expect(await request(router.url, '{ internal level }', { token: admin })).toEqual({
      data: { internal: 'internal-value', level: 'HIGH' },
    });
  });

  it('of an interface is taken out when the same field of any implementation would be', async () => {
    // PrivateBlog.related returns Classified, which needs a scope: through Post, every
    // `related` might be one, whatever this post turns out to be.
    const query = '{ post(id: "public") { title related { ... on Note { text } } } }';
    const plainUser = await request(router.url, query, { token: user });
    expect(plainUser.data).toEqual({ post: { title: 'Public', related: null } });
    expect(refusedPaths(plainUser.errors)).toEqual([['post', 'related']]);
    expect(catalog.queries).toHaveLength(1);
    expect(names(catalog.queries[0], 'related')).toBe(false);

    const classified = await accessToken('USER', 'classified');
    expect(await request(router.url, query, { token: classified })).toEqual({
      data: { post: { title: 'Public', related: { text: 'see also' } } },
    });
  });
});

describe('a fragment', () => {
  it('is taken out when the caller fails its type condition’s requirement', async () => {
    const query = `
      query { post(id: "private") { __typename ...Private } }
      fragment Private on PrivateBlog { title }
    `;
    const anonymous = await request(router.url, query);
    expect(anonymous.data).toEqual({ post: { __typename: 'PrivateBlog' } });
    // A named fragment is reported where it is spread, without a `... on` of its own, as Router
    // does (its case named_fragment_nested_in_named_fragment_in_authenticated_type).
    expect(refusedPaths(anonymous.errors)).toEqual([['post']]);
    expect(catalog.queries).toHaveLength(1);
    expect(names(catalog.queries[0], 'title')).toBe(false);

    expect(await request(router.url, query, { token: user })).toEqual({
      data: { post: { __typename: 'PrivateBlog', title: 'Private' } },
    });
  });

  it('on a protected member of a union is taken out, and those on the others stay', async () => {
    const query = '{ search { ... on PublicBlog { title } ... on PrivateBlog { title } } }';
    const anonymous = await request(router.url, query);
    // The private result is still a result, but shows nothing, not even nulls that would say
    // what type it is.
    expect(anonymous.data).toEqual({ search: [{ title: 'Public' }, {}] });
    expect(refusedPaths(anonymous.errors)).toEqual([['search', '@', '... on PrivateBlog']]);
    expect(catalog.queries).toEqual([expect.stringContaining('PublicBlog')]);
    expect(names(catalog.queries[0], 'PrivateBlog')).toBe(false);

    expect((await request(router.url, query, { token: user })).data).toEqual({
      search: [{ title: 'Public' }, { title: 'Private' }],
    });
  });
});

describe('a field that returns an interface', () => {
  it('with fragments only keeps those on types the caller may see (Router’s PublicBlog example)', async () => {
    const query =
      '{ post(id: "public") { ... on PublicBlog { title } ... on PrivateBlog { title } } }';
    const anonymous = await request(router.url, query);
    expect(anonymous.data).toEqual({ post: { title: 'Public' } });
    expect(refusedPaths(anonymous.errors)).toEqual([['post', '... on PrivateBlog']]);
    expect(catalog.queries).toHaveLength(1);
    expect(names(catalog.queries[0], 'PublicBlog')).toBe(true);
    expect(names(catalog.queries[0], 'PrivateBlog')).toBe(false);
  });

  it('with only __typename is never refused, even when the value is of a protected type', async () => {
    expect(await request(router.url, '{ post(id: "private") { __typename } }')).toEqual({
      data: { post: { __typename: 'PrivateBlog' } },
    });
    expect(catalog.queries).toHaveLength(1);
  });

  it('and selects a field on it directly is taken out when any implementation is protected', async () => {
    const query = '{ greeting post(id: "public") { id ... on PublicBlog { title } } }';
    const anonymous = await request(router.url, query);
    expect(anonymous.data).toEqual({ greeting: 'hello', post: null });
    expect(refusedPaths(anonymous.errors)).toEqual([['post']]);
    expect(catalog.queries).toHaveLength(1);
    expect(names(catalog.queries[0], 'post')).toBe(false);

    expect((await request(router.url, query, { token: user })).data).toEqual({
      greeting: 'hello',
      post: { id: 'public', title: 'Public' },
    });
  });

  it('as composed inherits its implementations’ type requirements, fragments or not', async () => {
    // Composition wrote `interface Story @authenticated` (from LockedStory): the field needs a
    // login for its return type, as in Router given the same supergraph.
    expect(supergraph).toMatch(/interface Story[^{]*@authenticated/);
    const anonymous = await request(
      router.url,
      '{ greeting story { ... on OpenStory { title } } }',
    );
    expect(anonymous.data).toEqual({ greeting: 'hello', story: null });
    expect(refusedPaths(anonymous.errors)).toEqual([['story']]);
    expect(catalog.queries.some((query) => names(query, 'story'))).toBe(false);
  });
});

describe('a requirement on a root operation type', () => {
  it('takes out the whole operation: data null, one error without a path, no subgraph request', async () => {
    const mutation = 'mutation { rename(name: "Ada") }';
    const anonymous = await request(router.url, mutation);
    expect(anonymous.data).toBeNull();
    expect(refusedPaths(anonymous.errors)).toEqual([undefined]);
    expect(accounts.queries).toEqual([]);

    expect(await request(router.url, mutation, { token: user })).toEqual({
      data: { rename: 'Ada' },
    });
    expect(accounts.queries).toHaveLength(1);
  });
});

describe('what is left once selections are taken out', () => {
  it('a field whose every child was taken out goes too, with errors only at the children', async () => {
    const plainUser = await request(router.url, '{ greeting product(id: "1") { cost } }', {
      token: user,
    });
    expect(plainUser.data).toEqual({ greeting: 'hello', product: null });
    expect(refusedPaths(plainUser.errors)).toEqual([['product', 'cost']]);
    expect(catalog.queries).toHaveLength(1);
    expect(names(catalog.queries[0], 'product')).toBe(false);
  });

  it('an operation left with nothing is not run: data null, and no subgraph is asked', async () => {
    const anonymous = await request(router.url, '{ secret report { title } }');
    expect(anonymous.data).toBeNull();
    expect(refusedPaths(anonymous.errors)).toEqual([['secret'], ['report']]);
    expect(catalog.queries).toEqual([]);
  });

  it('a removed non-null field nulls the nearest nullable parent, up to data itself', async () => {
    const one = await request(router.url, '{ greeting product(id: "1") { name cost } }', {
      token: user,
    });
    expect(one.data).toEqual({ greeting: 'hello', product: null });
    expect(refusedPaths(one.errors)).toEqual([['product', 'cost']]);
    expect(catalog.queries).toEqual([expect.stringMatching(/\bname\b/)]);
    expect(names(catalog.queries[0], 'cost')).toBe(false);

    // [Product!]! on Query: nothing nullable between `cost` and `data`.
    const all = await request(router.url, '{ topProducts { name cost } }', { token: user });
    expect(all.data).toBeNull();
    expect(refusedPaths(all.errors)).toEqual([['topProducts', '@', 'cost']]);
  });
});

describe('errors', () => {
  it('name the path by response keys (aliases), with @ for list items; no fetch is made for it', async () => {
    const query = '{ top: topProducts { name r: reviews { body } } }';
    const anonymous = await request(router.url, query);
    expect(anonymous.data).toEqual({
      top: [
        { name: 'Product 1', r: null },
        { name: 'Product 2', r: null },
      ],
    });
    expect(refusedPaths(anonymous.errors)).toEqual([['top', '@', 'r', '@']]);
    expect(catalog.queries).toHaveLength(1);
    expect(reviews.queries).toEqual([]);

    // Logged in, the reviews subgraph is asked: the stubs do see what the router lets through.
    expect((await request(router.url, query, { token: user })).data).toEqual({
      top: [
        { name: 'Product 1', r: [{ body: 'Great 1' }] },
        { name: 'Product 2', r: [{ body: 'Great 2' }] },
      ],
    });
    expect(reviews.queries).toHaveLength(1);
  });
});

describe('renamed imports', () => {
  let vaultRouter: RunningRouter;
  beforeAll(async () => {
    vaultRouter = await startRouter(compose([vault]));
  }, 30_000);

  it('@authenticated as @auth and @requiresScopes as @scopes are enforced', async () => {
    const query = '{ open mine admins }';
    const anonymous = await request(vaultRouter.url, query);
    expect(anonymous.data).toEqual({ open: 'open', mine: null, admins: null });
    expect(refusedPaths(anonymous.errors)).toEqual([['mine'], ['admins']]);
    expect(vault.queries).toEqual([expect.not.stringMatching(/\b(mine|admins)\b/)]);

    const plainUser = await request(vaultRouter.url, query, { token: user });
    expect(plainUser.data).toEqual({ open: 'open', mine: 'mine', admins: null });
    expect(refusedPaths(plainUser.errors)).toEqual([['admins']]);
  });
});

describe('settings', () => {
  const query = '{ greeting secret }';

  it('AUTHORIZATION_REJECT_UNAUTHORIZED=true refuses the whole operation and runs nothing', async () => {
    const rejecting = await startRouter(supergraph, { AUTHORIZATION_REJECT_UNAUTHORIZED: 'true' });
    const anonymous = await request(rejecting.url, query);
    expect(anonymous.data).toBeNull();
    expect(refusedPaths(anonymous.errors)).toEqual([['secret']]);
    expect(catalog.queries).toEqual([]);

    // What the caller may see in full still runs.
    expect(await request(rejecting.url, '{ greeting }')).toEqual({ data: { greeting: 'hello' } });
    expect(await request(rejecting.url, query, { token: user })).toEqual({
      data: { greeting: 'hello', secret: 's3cret' },
    });
  });

  it('AUTHORIZATION_DRY_RUN=true runs the operation as sent, and still reports and logs', async () => {
    const dryRun = await startRouter(supergraph, { AUTHORIZATION_DRY_RUN: 'true' });
    const anonymous = await request(dryRun.url, query);
    expect(anonymous.data).toEqual({ greeting: 'hello', secret: 's3cret' });
    expect(refusedPaths(anonymous.errors)).toEqual([['secret']]);
    expect(catalog.queries).toEqual([expect.stringMatching(/\bsecret\b/)]);
    expect(dryRun.logs).toContainEqual({
      message: expect.stringMatching(/dry run/),
      fields: expect.objectContaining({ paths: ['/secret'], userId: null }),
    });
  });

  it('AUTHORIZATION_DRY_RUN=true reports a named fragment on a protected type once, as a real run does', async () => {
    const dryRun = await startRouter(supergraph, { AUTHORIZATION_DRY_RUN: 'true' });
    const spread = `
      query { post(id: "private") { __typename ...Private } }
      fragment Private on PrivateBlog { title }
    `;
    const real = await request(router.url, spread);
    expect(refusedPaths(real.errors)).toEqual([['post']]);
    const dry = await request(dryRun.url, spread);
    expect(dry.data).toEqual({ post: { __typename: 'PrivateBlog', title: 'Private' } });
    expect(refusedPaths(dry.errors)).toEqual([['post']]);
  });

  it('AUTHORIZATION_ERRORS=extensions puts the errors in extensions.authorizationErrors', async () => {
    const extensions = await startRouter(supergraph, { AUTHORIZATION_ERRORS: 'extensions' });
    const anonymous = await request(extensions.url, query);
    expect(anonymous.data).toEqual({ greeting: 'hello', secret: null });
    expect(anonymous.errors).toBeUndefined();
    expect(anonymous.extensions?.['authorizationErrors']).toEqual([
      {
        message: expect.stringMatching(/log in/i),
        path: ['secret'],
        extensions: { code: 'UNAUTHORIZED_FIELD_OR_TYPE' },
      },
    ]);
    expect(catalog.queries).toEqual([expect.not.stringMatching(/\bsecret\b/)]);
  });

  it('AUTHORIZATION_ERRORS=disabled takes the selections out and says nothing', async () => {
    const silent = await startRouter(supergraph, { AUTHORIZATION_ERRORS: 'disabled' });
    expect(await request(silent.url, query)).toEqual({
      data: { greeting: 'hello', secret: null },
    });
    expect(catalog.queries).toEqual([expect.not.stringMatching(/\bsecret\b/)]);
    // The operator still sees it in the log.
    expect(silent.logs).toContainEqual({
      message: 'authorization took selections out of an operation',
      fields: expect.objectContaining({ paths: ['/secret'] }),
    });
  });

  it('AUTHORIZATION_LOG: on by default with the paths taken out, off when false', async () => {
    await request(router.url, query);
    expect(router.logs).toContainEqual({
      message: 'authorization took selections out of an operation',
      fields: { operationName: null, paths: ['/secret'], userId: null },
    });

    const quiet = await startRouter(supergraph, { AUTHORIZATION_LOG: 'false' });
    const anonymous = await request(quiet.url, query);
    expect(refusedPaths(anonymous.errors)).toEqual([['secret']]);
    expect(quiet.logs.filter((entry) => /authorization/.test(entry.message))).toEqual([]);
  });
});
