import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { ROUTER_SUPPORTED_SUPERGRAPH_FEATURES, Supergraph } from '@apollo/federation-internals';
import { ApolloGateway } from '@apollo/gateway';
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
    expect(prepared).not.toMatch(/INTERNAL|Secret|internalId|cost|discountCode/);
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
      expect(introspection).not.toMatch(/INTERNAL|"Secret"|internalId|"cost"|discountCode/);
    } finally {
      await gateway.stop();
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
    const schema = Supergraph.build(prepared.sdl).apiSchema().toGraphQLJSSchema();
    const requirements = prepared.accessRequirements(schema);
    const query = schema.getQueryType();
    const field = (name: string) => {
      const found = query?.getFields()[name];
      if (!query || !found) throw new Error(`no Query.${name}`);
      return requirements.forField(query, found);
    };
    expect(field('mine')).toEqual([{ authenticated: true, scopes: undefined }]);
    expect(field('everyone')).toEqual([{ authenticated: false, scopes: [['admin']] }]);
    expect(field('open')).toEqual([]);
  });
});
