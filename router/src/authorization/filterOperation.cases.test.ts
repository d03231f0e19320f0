import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildSchema, Kind, parse, print, type DocumentNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { Identity } from '@supergraph/identity';
import { findSecurityFeatures } from '../supergraph.js';
import { filterOperation, routerPath } from './filterOperation.js';
import { readAccessRequirements } from './requirements.js';

/**
 * Apollo Router's own test cases for `@authenticated` and `@requiresScopes`, run through this
 * router's filter: each case's schema, query and caller, and the filtered query and removed
 * paths Router gives. The cases are data kept outside the repository (in the workplace's
 * `../shared/apollo-router-authz/`, or where APOLLO_ROUTER_AUTHZ_CASES points); a clone without
 * them skips this file and says so. The project's own cases for the same rules are in
 * filterOperation.test.ts.
 */
interface RouterCase {
  readonly id: string;
  readonly schema: string;
  readonly query: string;
  /** Null for an anonymous request; otherwise the scopes of the request. */
  readonly identity: { readonly scopes: readonly string[] } | null;
  readonly expected: { readonly filtered: string; readonly paths: readonly string[] };
}

const root = new URL('../../../', import.meta.url).pathname;
const casesDir = resolve(
  process.env['APOLLO_ROUTER_AUTHZ_CASES'] ?? resolve(root, '../shared/apollo-router-authz'),
);
const casesFile = resolve(casesDir, 'cases.json');
const cases: readonly RouterCase[] = existsSync(casesFile)
  ? JSON.parse(readFileSync(casesFile, 'utf8'))
  : [];

/** One form for two documents that mean the same: operations in order, then fragments by name. */
function normalized(document: DocumentNode): string {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const fragments = document.definitions
    .flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [d] : []))
    .sort((a, b) => a.name.value.localeCompare(b.name.value));
  return [...operations, ...fragments].map((d) => print(d)).join('\n\n');
}

function caller(identity: RouterCase['identity']): Identity | null {
  // Router's scopes are the request's alone; a role here would add scopes of its own.
  return identity && { id: 'router-case', role: 'USER', scopes: [...identity.scopes] };
}

describe.skipIf(cases.length === 0)(`Apollo Router's authorization cases (${casesFile})`, () => {
  it('are all there: 54 filter cases', () => {
    expect(cases).toHaveLength(54);
  });

  it.each(cases.map((c) => [c.id, c] as const))('%s', (_id, routerCase) => {
    const sdl = parse(routerCase.schema);
    const schema = buildSchema(routerCase.schema, { assumeValidSDL: true });
    const requirements = readAccessRequirements(sdl, findSecurityFeatures(sdl));
    const query = parse(routerCase.query);
    const filtered = filterOperation(schema, query, requirements, caller(routerCase.identity));

    expect((filtered?.removed ?? []).map((removed) => routerPath(removed.path))).toEqual(
      routerCase.expected.paths,
    );
    if (routerCase.expected.filtered.trim() === '') {
      expect(filtered?.empty).toBe(true);
    } else {
      expect(filtered?.empty ?? false).toBe(false);
      // The document the gateway plans, less the router's own `__typename` for abstract types.
      const document = filtered
        ? withoutRuntimeTypes(filtered.document, filtered.runtimeTypeKey)
        : query;
      expect(normalized(document)).toBe(normalized(parse(routerCase.expected.filtered)));
    }
  });
});

describe.skipIf(cases.length > 0)('Apollo Router’s authorization cases', () => {
  it.skip(`are not on this machine (looked for ${casesFile}; set APOLLO_ROUTER_AUTHZ_CASES)`, () => {});
});

function withoutRuntimeTypes(document: DocumentNode, key: string): DocumentNode {
  return parse(print(document).replace(new RegExp(`^\\s*${key}: __typename\\n`, 'gm'), ''));
}
