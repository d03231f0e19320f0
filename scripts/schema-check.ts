/**
 * `npm run schema:check`: fails when the API schema (schema.graphql) breaks clients compared with
 * an earlier commit, unless the break is acknowledged in breaking-changes.yaml. CI runs it.
 *
 *   npm run schema:check                       compares with the previous commit (HEAD~1)
 *   SCHEMA_BASE_REF=origin/main npm run schema:check   compares with another ref, e.g. in a PR
 *
 * GraphQL APIs evolve without versions: add fields freely, deprecate with @deprecated, and remove
 * only once no client uses a field. See "Evolving the API" in the README.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { compareSchemas } from './breaking-changes.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const baseRef = process.env['SCHEMA_BASE_REF'] || 'HEAD~1';

const Acknowledgements = z
  .array(
    z.object({ change: z.string(), reason: z.string().min(1, 'say why the break is acceptable') }),
  )
  .nullable();

function schemaAt(ref: string): string | undefined {
  try {
    return execFileSync('git', ['show', `${ref}:schema.graphql`], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined;
  }
}

const before = schemaAt(baseRef);
if (before === undefined) {
  console.log(
    `No schema.graphql at ${baseRef} to compare with (first commit or shallow clone); nothing to check.`,
  );
  process.exit(0);
}
const after = readFileSync(resolve(root, 'schema.graphql'), 'utf8');
const acknowledged = (
  Acknowledgements.parse(parseYaml(readFileSync(resolve(root, 'breaking-changes.yaml'), 'utf8'))) ??
  []
).map((entry) => entry.change);

const result = compareSchemas(before, after, acknowledged);
for (const change of result.dangerous) console.warn(`dangerous (not breaking): ${change}`);
for (const change of result.acknowledged) console.log(`breaking, acknowledged: ${change}`);
if (result.unacknowledged.length > 0) {
  console.error(`schema.graphql breaks clients compared with ${baseRef}:`);
  for (const change of result.unacknowledged) console.error(`  - ${change}`);
  console.error(
    '\nDeprecate instead (@deprecated(reason: "...") in the subgraph schema), or, if the break is deliberate,\nlist each change in breaking-changes.yaml with the reason.',
  );
  process.exit(1);
}
console.log(`schema.graphql: no unacknowledged breaking changes since ${baseRef}.`);
