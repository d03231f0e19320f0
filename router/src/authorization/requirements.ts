import { Kind, type ConstDirectiveNode, type DocumentNode } from 'graphql';
import { readCallerRequirement, type CallerRequirement } from '@supergraph/identity';
import type { SecurityFeature } from '../supergraph.js';

const AUTHENTICATED_SPEC = 'https://specs.apollo.dev/authenticated/';
const REQUIRES_SCOPES_SPEC = 'https://specs.apollo.dev/requiresScopes/';

/**
 * The `@authenticated` and `@requiresScopes` requirements that composition wrote into the
 * supergraph, each where it was declared. What a selection needs is worked out from these by
 * filterOperation.ts, with Apollo Router's rules (a field needs its own requirement and that of
 * the type it returns; interfaces look at their implementations). `@policy` is not here on
 * purpose: it depends on the data, so only the subgraph that owns the data can decide it.
 */
export interface AccessRequirements {
  /** True when the supergraph declares no requirement at all, so there is nothing to check. */
  readonly none: boolean;
  /** What a type declares on itself (`type Audit @requiresScopes(...)`, `scalar Internal @authenticated`). */
  ofType(typeName: string): CallerRequirement | undefined;
  /** What a field declares on itself. */
  ofField(typeName: string, fieldName: string): CallerRequirement | undefined;
}

/** Reads the requirements from the composed supergraph, before the gateway's copy is stripped. */
export function readAccessRequirements(
  supergraph: DocumentNode,
  features: readonly SecurityFeature[],
): AccessRequirements {
  const authenticated = features.find((f) => f.url.startsWith(AUTHENTICATED_SPEC))?.directive;
  const requiresScopes = features.find((f) => f.url.startsWith(REQUIRES_SCOPES_SPEC))?.directive;
  const declared = new Map<string, CallerRequirement>();

  const names = {
    authenticated: authenticated === undefined ? [] : [authenticated],
    requiresScopes: requiresScopes === undefined ? [] : [requiresScopes],
  };
  const read = (directives: readonly ConstDirectiveNode[] | undefined, where: string) => {
    const requirement = readCallerRequirement(directives ?? [], names, where);
    if (requirement) declared.set(where, requirement);
  };

  for (const definition of supergraph.definitions) {
    switch (definition.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION:
        read(definition.directives, definition.name.value);
        for (const field of definition.fields ?? [])
          read(field.directives, `${definition.name.value}.${field.name.value}`);
        break;
      case Kind.SCALAR_TYPE_DEFINITION:
      case Kind.SCALAR_TYPE_EXTENSION:
      case Kind.ENUM_TYPE_DEFINITION:
      case Kind.ENUM_TYPE_EXTENSION:
        read(definition.directives, definition.name.value);
        break;
      default:
        break;
    }
  }

  return {
    none: declared.size === 0,
    ofType: (typeName) => declared.get(typeName),
    ofField: (typeName, fieldName) => declared.get(`${typeName}.${fieldName}`),
  };
}
