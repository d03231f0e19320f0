import {
  getNamedType,
  isAbstractType,
  isInterfaceType,
  Kind,
  type ConstDirectiveNode,
  type DocumentNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { readCallerRequirement, type CallerRequirement } from '@supergraph/identity';
import type { SecurityFeature } from '../supergraph.js';

const AUTHENTICATED_SPEC = 'https://specs.apollo.dev/authenticated/';
const REQUIRES_SCOPES_SPEC = 'https://specs.apollo.dev/requiresScopes/';

/**
 * The `@authenticated` and `@requiresScopes` requirements that composition wrote into the
 * supergraph, by schema coordinate. `@policy` is not here on purpose: it depends on the data,
 * so only the subgraph that owns the data can decide it.
 */
export interface AccessRequirements {
  /** True when the supergraph declares no requirement at all, so there is nothing to check. */
  readonly none: boolean;
  /**
   * Everything a caller must meet to select `field` on `parent`: the field's own requirements,
   * those of the type it returns, and, on an interface, those of every implementation's field
   * (Apollo Router's rule: a field reached through an interface needs what each
   * implementation needs).
   */
  forField(
    parent: GraphQLCompositeType,
    field: GraphQLField<unknown, unknown>,
  ): readonly CallerRequirement[];
  /** What a caller must meet to see objects of a type (for fragments on that type). */
  forType(type: GraphQLNamedType): readonly CallerRequirement[];
}

/** Reads the requirements from the composed supergraph, before the gateway's copy is stripped. */
export function readAccessRequirements(
  supergraph: DocumentNode,
  features: readonly SecurityFeature[],
): (schema: GraphQLSchema) => AccessRequirements {
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

  // Bound to the API schema the gateway serves, to follow interfaces to their implementations.
  return (schema) => {
    const own = (coordinate: string) => {
      const requirement = declared.get(coordinate);
      return requirement ? [requirement] : [];
    };
    const forType = (type: GraphQLNamedType): CallerRequirement[] =>
      isAbstractType(type)
        ? [...own(type.name), ...schema.getPossibleTypes(type).flatMap((t) => own(t.name))]
        : own(type.name);
    // A requirement on a root operation type (`type Mutation @authenticated`) reaches no field
    // that returns the type, so it applies to every field of the type, as in Apollo Router.
    const roots = new Set(
      [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap(
        (root) => (root ? [root.name] : []),
      ),
    );
    const cache = new Map<string, readonly CallerRequirement[]>();
    return {
      none: declared.size === 0,
      forType,
      forField(parent, field) {
        const coordinate = `${parent.name}.${field.name}`;
        let requirements = cache.get(coordinate);
        if (!requirements) {
          requirements = [
            ...(roots.has(parent.name) ? own(parent.name) : []),
            ...own(coordinate),
            ...(isInterfaceType(parent)
              ? schema.getPossibleTypes(parent).flatMap((t) => own(`${t.name}.${field.name}`))
              : []),
            ...forType(getNamedType(field.type)),
          ];
          cache.set(coordinate, requirements);
        }
        return requirements;
      },
    };
  };
}
