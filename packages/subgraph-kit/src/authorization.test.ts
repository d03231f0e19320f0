import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createIdentity } from '@supergraph/identity';
import { applyAuthorization, type AuthorizationContext } from './authorization.js';

describe('applyAuthorization', () => {
  // A subgraph that imports the directives under names of its own: they must bind all the same.
  const schema = applyAuthorization(
    buildSubgraphSchema({
      typeDefs: parse(`
        extend schema
          @link(url: "https://specs.apollo.dev/federation/v2.9",
                import: [{ name: "@authenticated", as: "@auth" },
                         { name: "@requiresScopes", as: "@scopes" },
                         { name: "@policy", as: "@rule" }])
        type Query {
          mine: Int @auth
          admins: Int @scopes(scopes: [["admin"]])
          ruled: Int @rule(policies: [["never"]])
          open: Int
        }
      `),
      resolvers: { Query: { mine: () => 1, admins: () => 2, ruled: () => 3, open: () => 4 } },
    }),
    { policies: { never: () => false } },
  );
  const run = (query: string, identity: AuthorizationContext['identity']) =>
    execute({
      schema,
      document: parse(query),
      contextValue: { identity, viewerFor: new WeakMap() } satisfies AuthorizationContext,
    });

  it('enforces directives imported under another name', async () => {
    const anonymous = await run('{ mine admins ruled open }', null);
    expect(anonymous.data).toEqual({ mine: null, admins: null, ruled: null, open: 4 });
    expect(anonymous.errors?.map((error) => [error.path, error.extensions['code']])).toEqual([
      [['mine'], 'UNAUTHENTICATED'],
      [['admins'], 'UNAUTHENTICATED'],
      [['ruled'], 'UNAUTHENTICATED'],
    ]);
    const admin = await run('{ mine admins }', createIdentity('a1', 'ADMIN'));
    expect(admin).toEqual({ data: { mine: 1, admins: 2 } });
  });

  it('guards every field of a root operation type that carries a requirement', async () => {
    const guarded = applyAuthorization(
      buildSubgraphSchema({
        typeDefs: parse(`
          extend schema
            @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@authenticated"])
          type Query { hello: Int }
          type Mutation @authenticated { ping: Int }
        `),
        resolvers: { Query: { hello: () => 1 }, Mutation: { ping: () => 2 } },
      }),
      { policies: {} },
    );
    const call = (identity: AuthorizationContext['identity']) =>
      execute({
        schema: guarded,
        document: parse('mutation { ping }'),
        contextValue: { identity, viewerFor: new WeakMap() } satisfies AuthorizationContext,
      });
    const anonymous = await call(null);
    expect(anonymous.errors?.[0]?.extensions['code']).toBe('UNAUTHENTICATED');
    expect(await call(createIdentity('u1', 'USER'))).toEqual({ data: { ping: 2 } });
  });
});
