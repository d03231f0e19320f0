import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// Projects as in graphql-hive/gateway: fast unit tests beside the code, and integration tests
// (`*.int.test.ts`) that boot the real graph against a real MongoDB-protocol server. Load tests
// (`*.load.test.ts`) boot it too, but run after the rest has finished: a flood on these small
// machines would slow every test running beside it.
export default defineConfig({
  resolve: {
    // graphql ships both ESM (.mjs) and CJS builds. Vite would load the ESM one for our code while
    // the CJS Apollo packages require the other, and graphql refuses types from "another realm".
    // Node itself picks the CJS build for both, so make vitest do the same.
    alias: { graphql: createRequire(import.meta.url).resolve('graphql') },
  },
  test: {
    // A test that builds an ApolloGateway itself (not through the router, which sets this on its
    // own) must not start the gateway's telemetry either: no test may reach outside loopback.
    env: { APOLLO_TELEMETRY_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{packages,subgraphs,router,scripts,test}/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/*.load.test.ts', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['{packages,subgraphs,router,scripts,test}/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['./test/globalSetup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'load',
          include: ['test/**/*.load.test.ts'],
          globalSetup: ['./test/globalSetup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
