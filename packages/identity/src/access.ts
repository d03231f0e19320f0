import { valueFromASTUntyped, type ConstDirectiveNode } from 'graphql';
import type { Identity } from './identity.js';

/**
 * The part of an authorization rule that depends on the caller alone: `@authenticated` and
 * `@requiresScopes`. The router enforces these before planning (router/src/authorization) and
 * every subgraph enforces them again while resolving (packages/subgraph-kit), with this one
 * function, so the two can never disagree.
 */
export interface CallerRequirement {
  readonly authenticated: boolean;
  /** OR of ANDs, as in `@requiresScopes(scopes: [["a", "b"], ["c"]])`; undefined for none. */
  readonly scopes: readonly (readonly string[])[] | undefined;
}

/** Whether `identity` (null for anonymous) meets the requirement. Scopes imply a login. */
export function meetsRequirement(
  requirement: CallerRequirement,
  identity: Identity | null,
): boolean {
  if ((requirement.authenticated || requirement.scopes) && !identity) return false;
  if (!requirement.scopes || !identity) return true;
  const held = new Set(identity.scopes);
  return requirement.scopes.some((group) => group.every((scope) => held.has(scope)));
}

/** The names the two directives go by in a schema (they depend on its `@link`s). */
export interface RequirementDirectiveNames {
  readonly authenticated: readonly string[];
  readonly requiresScopes: readonly string[];
}

/**
 * The caller requirement that `directives` (of a field or a type) declare, or undefined for none.
 * `where` names the schema coordinate in startup errors.
 */
export function readCallerRequirement(
  directives: readonly ConstDirectiveNode[],
  names: RequirementDirectiveNames,
  where: string,
): CallerRequirement | undefined {
  let authenticated = false;
  let scopes: string[][] | undefined;
  for (const directive of directives) {
    if (names.authenticated.includes(directive.name.value)) authenticated = true;
    if (names.requiresScopes.includes(directive.name.value))
      scopes = readStringGroups(directive, 'scopes', where);
  }
  return authenticated || scopes ? { authenticated, scopes } : undefined;
}

/**
 * Reads a `[[String!]!]!` argument, as `@requiresScopes(scopes:)` and `@policy(policies:)` take.
 * Throws at startup, naming the schema coordinate, when the SDL gives anything else.
 */
export function readStringGroups(
  directive: ConstDirectiveNode,
  argName: string,
  where: string,
): string[][] {
  const arg = directive.arguments?.find((a) => a.name.value === argName);
  const value: unknown = arg ? valueFromASTUntyped(arg.value) : undefined;
  if (!isStringGroups(value))
    throw new Error(`@${directive.name.value} on ${where} needs ${argName}: [[String!]!]!`);
  return value;
}

function isStringGroups(value: unknown): value is string[][] {
  return (
    Array.isArray(value) &&
    value.every((group) => Array.isArray(group) && group.every((s) => typeof s === 'string'))
  );
}
