import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { NoMongoDbError, startDevMongo } from '@supergraph/dev-mongo';
import { buildServices } from '../scripts/build.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongodbUri: string;
  }
}

/**
 * The services' compiled builds (`npm run build`), then one MongoDB-protocol server for the
 * whole integration run, found the way `npm start` finds one (MONGODB_URI, else FerretDB on
 * PATH, else mongodb-memory-server). Each test file then
 * works in databases of its own, so files can run in parallel without seeing each other's data.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Tests that start a service as a process run what production runs: the compiled build.
  await buildServices();
  const dataDir = mkdtempSync(join(tmpdir(), 'supergraph-test-mongo-'));
  const mongo = await startDevMongo({
    env: process.env,
    dataDir,
    log: (message) => process.stderr.write(`${message}\n`),
  }).catch((error: unknown) => {
    if (!(error instanceof NoMongoDbError)) throw error;
    // The one message, not a stack trace and vitest's "No test files found" after it.
    process.stderr.write(`\n${error.message}\n\n`);
    process.exit(1);
  });
  project.provide('mongodbUri', mongo.uri);
  return async () => {
    await mongo.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
