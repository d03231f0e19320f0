/**
 * Hive Gateway for the benchmark, in a process of its own: `node --import tsx
 * scripts/bench/hive.ts <hive|hive-no-dedupe>`, with SUPERGRAPH_PATH set by
 * scripts/bench/index.ts. Plain, as its documentation starts it; by default it merges identical
 * subgraph requests in flight, which `hive-no-dedupe` turns off.
 *
 * Type-checked by scripts/bench/tsconfig.json, not the root one: Hive's types pull in the DOM
 * library (through @whatwg-node/fetch), whose `fetch` types would replace Node's in the services.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createGatewayRuntime } from '@graphql-hive/gateway';
import { parse } from 'graphql';
import type { GatewayReady } from './protocol.js';

const kind = process.argv[2];
if (kind !== 'hive' && kind !== 'hive-no-dedupe') {
  throw new Error('usage: hive.ts <hive|hive-no-dedupe>');
}
const supergraphPath = process.env['SUPERGRAPH_PATH'];
if (!supergraphPath)
  throw new Error('SUPERGRAPH_PATH is required (scripts/bench/index.ts sets it)');

const gateway = createGatewayRuntime({
  supergraph: parse(readFileSync(supergraphPath, 'utf8')),
  logging: 'error',
  ...(kind === 'hive'
    ? {}
    : { transportEntries: { '*': { options: { deduplicateInflightRequests: false } } } }),
});
const server = createServer(gateway);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
if (address === null || typeof address === 'string') throw new Error('no TCP address');
const ready: GatewayReady = { url: `http://127.0.0.1:${address.port}/graphql` };
process.send?.(ready);

process.on('disconnect', () => {
  server.closeAllConnections();
  server.close();
  void Promise.resolve(gateway.dispose()).then(() => process.exit(0));
});
