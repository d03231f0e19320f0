import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { ROUTER_SUPPORTED_SUPERGRAPH_FEATURES, Supergraph } from '@apollo/federation-internals';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { introspectionFromSchema, parse, printSchema, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { prepareSupergraph } from './supergraph.js';

/** The API schema clients see, as SDL: federation-internals' own Schema prints as [object Object]. */
const apiSdl = (supergraph: Supergraph) => printSchema(supergraph.apiSchema().toGraphQLJSSchema());

const committed = readFileSync(new URL('../../supergraph.graphql', import.meta.url), 'utf8');

describe('prepareSupergraph', () => {
  it('is needed: the committed supergraph, as composition writes it, is refused by the gateway’s checks', () => {
    expect(() => Supergraph.build(committed)).toThrow(/for: SECURITY but is unsupported/);
  });

  it('takes out the for: SECURITY features so that the gateway accepts the supergraph', () => {
    const { sdl, securityFeatures } = prepareSupergraph(committed);
    expect(securityFeatures.map((feature) => feature.name).sort()).toEqual([
      'authenticated',
      'policy',
      'requiresScopes',
    ]);
    expect(sdl).not.toMatch(
      /for: SECURITY|@authenticated|@requiresScopes|@policy|policy__|requiresScopes__/,
    );
    const supergraph = Supergraph.build(sdl);
    expect([...supergraph.subgraphs().names()].sort()).toEqual(['orders', 'users']);
  });

  it('reads each subgraph’s routing URL', () => {
    expect(prepareSupergraph(committed).subgraphUrls).toEqual({
      users: 'http://localhost:4001/graphql',
      orders: 'http://localhost:4002/graphql',
    });
  });

  it('keeps the API schema whole: every type and field, with only the directives removed', () => {
    const before = apiSdl(Supergraph.build(committed, { supportedFeatures: null }));
    const after = apiSdl(Supergraph.build(prepareSupergraph(committed).sdl));
    expect(after).toBe(before);
  });

  it('honours a renamed feature (`as:`)', () => {
    const renamed = committed
      .replace(
        'url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY',
        'url: "https://specs.apollo.dev/authenticated/v0.1", as: "loggedIn", for: SECURITY',
      )
      .replaceAll('@authenticated', '@loggedIn');
    const { sdl, securityFeatures } = prepareSupergraph(renamed);
    expect(securityFeatures.map((feature) => feature.name)).toContain('loggedIn');
    expect(sdl).not.toContain('@loggedIn');
    expect(() => Supergraph.build(sdl)).not.toThrow();
  });
});

describe('@inaccessible', () => {
  // Every kind of element composition can hide, beside the authorization directives the gateway
  // refuses, on a supergraph composed here.
  const hidden = composeServices([
    {
      name: 'catalog',
      url: 'http://catalog.invalid/graphql',
      typeDefs: parse(`
        extend schema
          @link(url: "https://specs.apollo.dev/federation/v2.9",
                import: ["@key", "@inaccessible", "@authenticated", "@requiresScopes"])

        enum Tier { FREE PRO INTERNAL @inaccessible }
        type Secret @inaccessible { value: String }
        input ProductFilter { tier: Tier includeDrafts: Boolean @inaccessible }
        input AuditNote @inaccessible { reason: String }
        interface Node { id: ID! internalId: ID @inaccessible }
        type Product implements Node @key(fields: "id") {
          id: ID!
          internalId: ID @inaccessible
          name: String
          cost: Int @inaccessible
          tier: Tier
          price(currency: String, discountCode: String @inaccessible): Int @authenticated
          margin: Int @requiresScopes(scopes: [["admin"]])
        }
        type Query {
          product(id: ID!): Product
          products(tier: Tier): [Product!]!
          node(id: ID!): Node
          search(filter: ProductFilter, note: AuditNote @inaccessible): [Product!]!
          secret: Secret @inaccessible
        }
      `),
    },
  ]);
  if (hidden.errors) throw new Error(hidden.errors.map((error) => error.message).join('\n'));
  const supergraphSdl = hidden.supergraphSdl;

  it('gives the same API schema through prepareSupergraph as Apollo’s own code', () => {
    const reference = apiSdl(
      Supergraph.build(supergraphSdl, { supportedFeatures: ROUTER_SUPPORTED_SUPERGRAPH_FEATURES }),
    );
    const prepared = apiSdl(Supergraph.build(prepareSupergraph(supergraphSdl).sdl));
    expect(prepared).toBe(reference);
    expect(prepared).not.toMatch(
      /INTERNAL|Secret|internalId|cost|discountCode|includeDrafts|AuditNote|note:/,
    );
  });

  it('the committed supergraph keeps its API schema too', () => {
    const reference = apiSdl(
      Supergraph.build(committed, { supportedFeatures: ROUTER_SUPPORTED_SUPERGRAPH_FEATURES }),
    );
    const prepared = apiSdl(Supergraph.build(prepareSupergraph(committed).sdl));
    expect(prepared).toBe(reference);
  });

  it('hides every inaccessible element from the gateway: introspection and operations', async () => {
    const gateway = new ApolloGateway({ supergraphSdl: prepareSupergraph(supergraphSdl).sdl });
    const { schema } = await gateway.load();
    try {
      const refused = {
        'an enum value': '{ products(tier: INTERNAL) { id } }',
        'an argument': '{ product(id: "1") { price(discountCode: "x") } }',
        'a field': '{ product(id: "1") { cost } }',
        'an interface field': '{ product(id: "1") { ... on Node { internalId } } }',
        'a type': '{ secret { value } }',
      };
      for (const [what, query] of Object.entries(refused)) {
        expect(validate(schema, parse(query)), what).not.toEqual([]);
      }
      expect(validate(schema, parse('{ products(tier: PRO) { id name tier } }'))).toEqual([]);
      const introspection = JSON.stringify(introspectionFromSchema(schema));
      expect(introspection).not.toMatch(
        /INTERNAL|"Secret"|internalId|"cost"|discountCode|includeDrafts|AuditNote|"note"/,
      );
    } finally {
      await gateway.stop();
    }
  });

  /**
   * Apollo Server over the gateway, as in the router, with the catalog subgraph played by a stub
   * that writes down every request it gets and answers with `answer`.
   */
  async function serveHidden(answer: Record<string, unknown>) {
    const sent: string[] = [];
    const gateway = new ApolloGateway({
      supergraphSdl: prepareSupergraph(supergraphSdl).sdl,
      buildService: () => ({
        process: async ({ request }) => {
          sent.push(request.query ?? '');
          return { data: answer };
        },
      }),
    });
    const server = new ApolloServer({ gateway });
    await server.start();
    const run = async (query: string, variables?: Record<string, unknown>) => {
      const response = await server.executeOperation({ query, variables });
      if (response.body.kind !== 'single') throw new Error('expected a single result');
      return response.body.singleResult;
    };
    return { run, sent, stop: () => server.stop() };
  }

  it('refuses an operation that names any inaccessible element, and asks no subgraph', async () => {
    const products = [{ id: '1', name: 'Tea', tier: 'PRO' }];
    const { run, sent, stop } = await serveHidden({ products, search: products });
    try {
      const refused: Record<string, [string, Record<string, unknown>?]> = {
        'an enum value': ['{ products(tier: INTERNAL) { id } }'],
        'an enum value, in a variable': [
          'query ($tier: Tier) { products(tier: $tier) { id } }',
          { tier: 'INTERNAL' },
        ],
        'an argument': ['{ product(id: "1") { price(discountCode: "x") } }'],
        'a field': ['{ product(id: "1") { cost } }'],
        'an interface field': ['{ node(id: "1") { internalId } }'],
        'an interface field, through a fragment': [
          '{ product(id: "1") { ... on Node { internalId } } }',
        ],
        'a type': ['{ secret { value } }'],
        'an input field': ['{ search(filter: { includeDrafts: true }) { id } }'],
        'an input field, in a variable': [
          'query ($filter: ProductFilter) { search(filter: $filter) { id } }',
          { filter: { includeDrafts: true } },
        ],
        'an enum value, inside an input in a variable': [
          'query ($filter: ProductFilter) { search(filter: $filter) { id } }',
          { filter: { tier: 'INTERNAL' } },
        ],
        'an input type, and the argument that takes it': [
          'query ($note: AuditNote) { search(note: $note) { id } }',
          { note: { reason: 'audit' } },
        ],
      };
      for (const [what, [query, variables]] of Object.entries(refused)) {
        const result = await run(query, variables);
        expect(result.data, what).toBeUndefined();
        expect(
          result.errors?.map((error) => error.extensions?.['code']),
          what,
        ).toEqual(
          expect.arrayContaining([
            expect.stringMatching(/^(GRAPHQL_VALIDATION_FAILED|BAD_USER_INPUT)$/),
          ]),
        );
      }
      expect(sent).toEqual([]);

      // The same operations without the hidden parts go through.
      expect(await run('{ products(tier: PRO) { id name tier } }')).toEqual({ data: { products } });
      expect(
        await run('query ($filter: ProductFilter) { search(filter: $filter) { id } }', {
          filter: { tier: 'PRO' },
        }),
      ).toEqual({ data: { search: [{ id: '1' }] } });
      expect(sent).toHaveLength(2);
    } finally {
      await stop();
    }
  });

  it('never lets an inaccessible enum value that a subgraph answers with reach the client', async () => {
    const { run, stop } = await serveHidden({
      products: [
        { id: '1', tier: 'INTERNAL' },
        { id: '2', tier: 'PRO' },
      ],
    });
    try {
      const result = await run('{ products { id tier } }');
      expect(result.data).toEqual({
        products: [
          { id: '1', tier: null },
          { id: '2', tier: 'PRO' },
        ],
      });
      expect(JSON.stringify(result)).not.toContain('INTERNAL');
    } finally {
      await stop();
    }
  });

  it('hides every inaccessible element from an introspection query', async () => {
    const { run, sent, stop } = await serveHidden({});
    try {
      const result = await run(`{
        tier: __type(name: "Tier") { enumValues(includeDeprecated: true) { name } }
        secret: __type(name: "Secret") { name }
        note: __type(name: "AuditNote") { name }
        filter: __type(name: "ProductFilter") { inputFields { name } }
        node: __type(name: "Node") { fields(includeDeprecated: true) { name } }
        product: __type(name: "Product") {
          fields(includeDeprecated: true) { name args(includeDeprecated: true) { name } }
        }
        query: __type(name: "Query") {
          fields(includeDeprecated: true) { name args(includeDeprecated: true) { name } }
        }
      }`);
      type Named = { name: string };
      type Field = Named & { args?: Named[] };
      const data = result.data as {
        tier: { enumValues: Named[] };
        secret: null;
        note: null;
        filter: { inputFields: Named[] };
        node: { fields: Field[] };
        product: { fields: Field[] };
        query: { fields: Field[] };
      };
      const names = (list: Named[] | undefined) => list?.map((item) => item.name);
      const argsOf = (fields: Field[], name: string) =>
        names(fields.find((field) => field.name === name)?.args);
      expect(result.errors).toBeUndefined();
      expect(names(data.tier.enumValues)).toEqual(['FREE', 'PRO']);
      expect(data.secret).toBeNull();
      expect(data.note).toBeNull();
      expect(names(data.filter.inputFields)).toEqual(['tier']);
      expect(names(data.node.fields)).toEqual(['id']);
      expect(names(data.product.fields)).toEqual(['id', 'name', 'tier', 'price', 'margin']);
      expect(argsOf(data.product.fields, 'price')).toEqual(['currency']);
      expect(names(data.query.fields)).toEqual(['product', 'products', 'node', 'search']);
      expect(argsOf(data.query.fields, 'search')).toEqual(['filter']);
      // Introspection is the router's own: no subgraph is asked.
      expect(sent).toEqual([]);
    } finally {
      await stop();
    }
  });
});

describe('an authorization directive imported under another name', () => {
  const renamed = composeServices([
    {
      name: 'catalog',
      url: 'http://catalog.invalid/graphql',
      typeDefs: parse(`
        extend schema
          @link(url: "https://specs.apollo.dev/federation/v2.9",
                import: [{ name: "@authenticated", as: "@auth" },
                         { name: "@requiresScopes", as: "@scopes" }])
        type Query {
          mine: Int @auth
          everyone: Int @scopes(scopes: [["admin"]])
          open: Int
        }
      `),
    },
  ]);
  if (renamed.errors) throw new Error(renamed.errors.map((error) => error.message).join('\n'));
  const prepared = prepareSupergraph(renamed.supergraphSdl);

  it('is taken out of the gateway’s copy under its new name', () => {
    expect(prepared.securityFeatures).toEqual([
      {
        url: 'https://specs.apollo.dev/authenticated/v0.1',
        name: 'authenticated',
        directive: 'auth',
      },
      {
        url: 'https://specs.apollo.dev/requiresScopes/v0.1',
        name: 'requiresScopes',
        directive: 'scopes',
      },
    ]);
    expect(prepared.sdl).not.toMatch(/@auth\b|@scopes\b/);
    expect(() => Supergraph.build(prepared.sdl)).not.toThrow();
  });

  it('is enforced: its requirements are read under the new name', () => {
    const requirements = prepared.accessRequirements;
    expect(requirements.ofField('Query', 'mine')).toEqual({
      authenticated: true,
      scopes: undefined,
    });
    expect(requirements.ofField('Query', 'everyone')).toEqual({
      authenticated: false,
      scopes: [['admin']],
    });
    expect(requirements.ofField('Query', 'open')).toBeUndefined();
  });
});
