import {
  defaultFieldResolver,
  getNamedType,
  GraphQLError,
  isObjectType,
  Kind,
  type ConstDirectiveNode,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import {
  meetsRequirement,
  readCallerRequirement,
  readStringGroups,
  type CallerRequirement,
  type Identity,
} from '@supergraph/identity';
import { ErrorCode } from '@supergraph/service-kit';

/**
 * What every subgraph context carries for authorization.
 */
export interface AuthorizationContext {
  /** The verified caller, or null when anonymous. */
  readonly identity: Identity | null;
  /**
   * Objects that are to be judged as if a given identity were looking at them. `login` registers
   * the user it just authenticated here, so that `AuthPayload.user` counts as "self" for a caller
   * who is still anonymous on this request (issue #2).
   */
  readonly viewerFor: WeakMap<object, Identity>;
}

export interface PolicyInput {
  /** The effective caller (see `AuthorizationContext.viewerFor`). */
  readonly identity: Identity | null;
  /**
   * For a directive on a field: the parent object the field is read from. For a directive on a
   * type: the object of that type being returned.
   */
  readonly source: unknown;
  /** The field's arguments; empty for type-level checks. */
  readonly args: Readonly<Record<string, unknown>>;
}

/** A named `@policy`: a small function of the caller and the data. */
export type Policy = (input: PolicyInput) => boolean | Promise<boolean>;

interface Rules extends CallerRequirement {
  policies: string[][] | undefined;
}

type DirectiveNames = Readonly<Record<'authenticated' | 'requiresScopes' | 'policy', string[]>>;

/**
 * The names each authorization directive goes by in `schema`: as `@link(import:)` brings it in,
 * under the `as:` name when the import renames it (`{ name: "@authenticated", as: "@auth" }`),
 * or with the `federation__` prefix when the spec is linked without importing it. The plain name
 * counts too, whatever the import says: enforcing a same-named directive of one's own is the
 * safe mistake.
 */
function directiveNames(schema: GraphQLSchema): DirectiveNames {
  const names = {
    authenticated: ['authenticated', 'federation__authenticated'],
    requiresScopes: ['requiresScopes', 'federation__requiresScopes'],
    policy: ['policy', 'federation__policy'],
  };
  const links = [schema.astNode, ...schema.extensionASTNodes].flatMap((node) =>
    (node?.directives ?? []).filter((directive) => directive.name.value === 'link'),
  );
  for (const link of links) {
    const imports = link.arguments?.find((argument) => argument.name.value === 'import')?.value;
    if (imports?.kind !== Kind.LIST) continue;
    for (const entry of imports.values) {
      if (entry.kind !== Kind.OBJECT) continue;
      const text = (key: string) => {
        const value = entry.fields.find((field) => field.name.value === key)?.value;
        return value?.kind === Kind.STRING ? value.value.replace(/^@/, '') : undefined;
      };
      const name = text('name');
      const renamed = text('as');
      if (renamed && (name === 'authenticated' || name === 'requiresScopes' || name === 'policy')) {
        names[name].push(renamed);
      }
    }
  }
  return names;
}

function readRules(
  directives: readonly ConstDirectiveNode[],
  where: string,
  names: DirectiveNames,
): Rules | undefined {
  const caller = readCallerRequirement(directives, names, where);
  const policy = directives.find((directive) => names.policy.includes(directive.name.value));
  const policies = policy && readStringGroups(policy, 'policies', where);
  if (!caller && !policies) return undefined;
  return { authenticated: caller?.authenticated ?? false, scopes: caller?.scopes, policies };
}

function typeDirectives(type: GraphQLObjectType): ConstDirectiveNode[] {
  return [type.astNode, ...type.extensionASTNodes].flatMap((node) => node?.directives ?? []);
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function deny(identity: Identity | null, coordinate: string): GraphQLError {
  return identity
    ? new GraphQLError(`You are not allowed to read ${coordinate}.`, {
        extensions: { code: ErrorCode.FORBIDDEN },
      })
    : new GraphQLError(
        `Log in to read ${coordinate}: send an access token in the Authorization header.`,
        {
          extensions: { code: ErrorCode.UNAUTHENTICATED },
        },
      );
}

async function policiesAllow(
  rules: Rules,
  policies: Readonly<Record<string, Policy>>,
  input: PolicyInput,
): Promise<boolean> {
  if (!rules.policies) return true;
  for (const group of rules.policies) {
    let all = true;
    for (const name of group) {
      // Names were checked against the map at startup, so a lookup here cannot miss.
      if (!(await policies[name]!(input))) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

export interface ApplyAuthorizationOptions {
  policies: Readonly<Record<string, Policy>>;
}

/**
 * Enforces `@authenticated`, `@requiresScopes` and `@policy`, as declared in the subgraph's own
 * SDL, on every entry point of an executable subgraph schema, `_entities` included. Apollo Router
 * would enforce the first two itself; Apollo Gateway enforces none, and a subgraph must not rely
 * on whoever sits in front of it anyway.
 *
 * - On a field: checked before the field resolves (a mutation never runs for a denied caller),
 *   with the parent object as the policy's `source`.
 * - On an object type: applies to the objects of that type wherever they are produced, by a
 *   field or by `__resolveReference`. `@authenticated` and `@requiresScopes` are checked before
 *   resolving; `@policy` on the resolved object, which then becomes null with an error.
 *
 * A denial nulls the field with FORBIDDEN, or UNAUTHENTICATED for an anonymous caller; the rest
 * of the response resolves. The schema is changed in place and returned.
 */
export function applyAuthorization<TSchema extends GraphQLSchema>(
  schema: TSchema,
  { policies }: ApplyAuthorizationOptions,
): TSchema {
  const names = directiveNames(schema);
  const roots = new Set(
    [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap(
      (root) => (root ? [root.name] : []),
    ),
  );
  const typeRules = new Map<string, Rules>();
  const used = new Set<string>();
  const note = (rules: Rules | undefined) =>
    rules?.policies?.flat().forEach((name) => used.add(name));

  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const rules = readRules(typeDirectives(type), type.name, names);
    note(rules);
    if (rules) typeRules.set(type.name, rules);
  }

  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const fieldRules = readRules(field.astNode?.directives ?? [], coordinate, names);
      note(fieldRules);
      const returned = getNamedType(field.type);
      const returnedRules = typeRules.get(returned.name);
      if (!fieldRules && !returnedRules) continue;
      field.resolve = guardField(
        field.resolve ?? defaultFieldResolver,
        coordinate,
        fieldRules,
        returned.name,
        returnedRules,
        policies,
      );
    }
    const rules = typeRules.get(type.name);
    if (rules && roots.has(type.name)) {
      // No field returns a root operation type, so its requirement guards each of its fields:
      // `type Mutation @authenticated` covers every mutation, as in Apollo Router.
      for (const field of Object.values(type.getFields())) {
        field.resolve = guardField(
          field.resolve ?? defaultFieldResolver,
          type.name,
          rules,
          type.name,
          undefined,
          policies,
        );
      }
    } else if (rules) guardReference(type, rules, policies);
  }

  const missing = [...used].filter((name) => !Object.hasOwn(policies, name));
  if (missing.length > 0) {
    throw new Error(`The schema uses @policy names with no implementation: ${missing.join(', ')}`);
  }
  return schema;
}

function effectiveIdentity(context: AuthorizationContext, object: unknown): Identity | null {
  return (isObject(object) && context.viewerFor.get(object)) || context.identity;
}

function guardField(
  resolve: GraphQLFieldResolver<unknown, AuthorizationContext>,
  coordinate: string,
  fieldRules: Rules | undefined,
  returnedType: string,
  returnedRules: Rules | undefined,
  policies: Readonly<Record<string, Policy>>,
): GraphQLFieldResolver<unknown, AuthorizationContext> {
  return async (source, args, context, info) => {
    const identity = effectiveIdentity(context, source);
    if (fieldRules) {
      const allowed =
        meetsRequirement(fieldRules, identity) &&
        (await policiesAllow(fieldRules, policies, { identity, source, args }));
      if (!allowed) throw deny(identity, coordinate);
    }
    if (returnedRules && !meetsRequirement(returnedRules, identity))
      throw deny(identity, returnedType);

    const result: unknown = await resolve(source, args, context, info);
    if (!returnedRules?.policies) return result;
    const check = async (item: unknown) => {
      if (!isObject(item)) return item;
      const viewer = effectiveIdentity(context, item) ?? identity;
      const allowed = await policiesAllow(returnedRules, policies, {
        identity: viewer,
        source: item,
        args: {},
      });
      // An Error in a list makes graphql-js null that one item, with the error at its path.
      return allowed ? item : deny(viewer, returnedType);
    };
    if (Array.isArray(result)) return Promise.all(result.map(check));
    const checked = await check(result);
    if (checked instanceof GraphQLError) throw checked;
    return checked;
  };
}

/**
 * `@apollo/subgraph` keeps `__resolveReference` at `type.extensions.apollo.subgraph`; wrapping it
 * there puts `_entities` through the same rules as every other entry point.
 */
function guardReference(
  type: GraphQLObjectType,
  rules: Rules,
  policies: Readonly<Record<string, Policy>>,
): void {
  const apollo = type.extensions['apollo'];
  const subgraph: unknown = isObject(apollo) && 'subgraph' in apollo ? apollo.subgraph : undefined;
  if (!isObject(subgraph) || !('resolveReference' in subgraph)) return;
  const resolveReference = subgraph.resolveReference;
  if (typeof resolveReference !== 'function') return;
  const guarded = async (
    reference: unknown,
    context: AuthorizationContext,
    info: unknown,
  ): Promise<unknown> => {
    const identity = context.identity;
    if (!meetsRequirement(rules, identity)) throw deny(identity, type.name);
    const object: unknown = await resolveReference(reference, context, info);
    if (
      isObject(object) &&
      !(await policiesAllow(rules, policies, { identity, source: object, args: {} }))
    ) {
      throw deny(identity, type.name);
    }
    return object;
  };
  Object.assign(subgraph, { resolveReference: guarded });
}
