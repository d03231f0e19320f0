/**
 * Composes the subgraph schemas listed in supergraph.yaml into supergraph.graphql, as
 * `rover supergraph compose` would, using @apollo/composition so that no rover binary is needed.
 *
 *   npm run compose          writes supergraph.graphql
 *   npm run compose:check    fails when the committed supergraph.graphql is stale (CI runs this)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const configPath = resolve(root, 'supergraph.yaml');
const outputPath = resolve(root, 'supergraph.graphql');

const SupergraphConfig = z.object({
  federation_version: z.union([z.string(), z.number()]),
  subgraphs: z.record(
    z.string(),
    z.object({
      routing_url: z.string(),
      schema: z.object({ file: z.string() }),
    }),
  ),
});

async function compose(): Promise<string> {
  const config = SupergraphConfig.parse(parseYaml(await readFile(configPath, 'utf8')));
  const services = await Promise.all(
    Object.entries(config.subgraphs).map(async ([name, subgraph]) => ({
      name,
      url: subgraph.routing_url,
      typeDefs: parse(await readFile(resolve(root, subgraph.schema.file), 'utf8')),
    })),
  );
  const result = composeServices(services);
  if (result.errors) {
    throw new Error(
      `Composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`,
    );
  }
  for (const hint of result.hints) console.warn(`hint: ${hint.toString()}`);
  return result.supergraphSdl.trimEnd() + '\n';
}

const check = process.argv.includes('--check');
try {
  const composed = await compose();
  if (check) {
    const committed = await readFile(outputPath, 'utf8').catch(() => '');
    if (committed !== composed) {
      console.error('supergraph.graphql is stale: run `npm run compose` and commit the result.');
      process.exit(1);
    }
    console.log('supergraph.graphql is up to date.');
  } else {
    await writeFile(outputPath, composed);
    console.log(`wrote ${outputPath}`);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
