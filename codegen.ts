import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Resolver types for each subgraph, generated from its own schema.graphql. `mappers` make the
 * parent of `User` resolvers the MongoDB record, not the GraphQL shape, so a resolver that forgets
 * to map `_id` to `id` is a compile error. `npm run codegen:check` fails CI when these are stale.
 */
const resolverConfig = (contextType: string, mappers: Record<string, string>) => ({
  federation: true,
  contextType,
  mappers,
  useIndexSignature: true,
  enumsAsTypes: true,
  useTypeImports: true,
  scalars: { DateTime: { input: 'Date', output: 'Date | string' } },
});

const config: CodegenConfig = {
  overwrite: true,
  generates: {
    'subgraphs/users/src/generated/graphql.ts': {
      schema: 'subgraphs/users/schema.graphql',
      plugins: ['typescript', 'typescript-resolvers'],
      config: resolverConfig('../context.js#UsersContext', {
        User: '../db/users.js#UserRecord',
      }),
    },
    'subgraphs/orders/src/generated/graphql.ts': {
      schema: 'subgraphs/orders/schema.graphql',
      plugins: ['typescript', 'typescript-resolvers'],
      config: resolverConfig('../context.js#OrdersContext', {
        Order: '../db/orders.js#OrderRecord',
        User: '../db/orders.js#UserReference',
      }),
    },
    // The example web app's typed documents, from the router's API schema (schema.graphql): a
    // typo in a field or a wrong variable type is a compile error in the frontend. The
    // persisted-documents manifest (hash -> document) is what the router's safelist accepts.
    'examples/web/src/gql/': {
      schema: 'schema.graphql',
      documents: ['examples/web/src/**/*.ts', '!examples/web/src/gql/**'],
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { hashAlgorithm: 'sha256' },
      },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: 'string' },
      },
    },
  },
};

export default config;
