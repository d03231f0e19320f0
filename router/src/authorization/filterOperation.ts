import {
  execute,
  getNamedType,
  getOperationAST,
  GraphQLError,
  isAbstractType,
  isObjectType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import { meetsRequirement, type CallerRequirement, type Identity } from '@supergraph/identity';
import { ErrorCode } from '@supergraph/service-kit';
import type { AccessRequirements } from './requirements.js';

/** What is left of an operation once the fields the caller may not see are taken out. */
export interface FilteredOperation {
  readonly document: DocumentNode;
  /** Where `document` asks for the object type of abstract values (see `runtimeTypeKey`). */
  readonly runtimeTypeKey: string;
  /** Schema coordinates taken out (`Query.users`), sorted: the same caller rights give the same list. */
  readonly denied: readonly string[];
  /** Nothing is left to execute: every root field was taken out. */
  readonly empty: boolean;
}

/** Stands in for a selection set that filtering emptied, so that its parent still resolves. */
const TYPENAME: FieldNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } };

/**
 * The response key under which the filtered operation asks for the object type of every value of
 * an interface or union type: `completeResponse` needs it to lay the original operation over the
 * result, and the caller's own selections may not include `__typename`. One the document does not
 * use already, so that it never clashes with the caller's own aliases.
 */
function runtimeTypeKey(document: DocumentNode): string {
  const used = new Set<string>();
  visit(document, { Field: (node) => void used.add(node.alias?.value ?? node.name.value) });
  let key = '_routerRuntimeType';
  while (used.has(key)) key = `_${key}`;
  return key;
}

/**
 * Takes out of `document` every field and fragment that `identity` may not see under
 * `@authenticated` / `@requiresScopes`, before the query planner sees it, so no subgraph is ever
 * asked for them. Returns null when the caller may see everything, which is the common case.
 */
export function filterOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  requirements: AccessRequirements,
  identity: Identity | null,
): FilteredOperation | null {
  const denied = new Set<string>();
  const allowed = (list: readonly CallerRequirement[]) =>
    list.every((requirement) => meetsRequirement(requirement, identity));
  const fragmentTypes = new Map<string, string>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragmentTypes.set(definition.name.value, definition.typeCondition.name.value);
  }
  const typeAllowed = (typeName: string | undefined) => {
    const type = typeName === undefined ? undefined : schema.getType(typeName);
    if (!type || allowed(requirements.forType(type))) return true;
    denied.add(type.name);
    return false;
  };

  // Found once, and only for an operation that selects from an interface or a union.
  let runtimeTypeField: FieldNode | undefined;
  const runtimeType = () =>
    (runtimeTypeField ??= {
      ...TYPENAME,
      alias: { kind: Kind.NAME, value: runtimeTypeKey(document) },
    });
  const typeInfo = new TypeInfo(schema);
  const filtered = visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (!parent || !field || allowed(requirements.forField(parent, field))) return undefined;
        for (const coordinate of coordinatesOf(schema, parent, field)) denied.add(coordinate);
        return null;
      },
      InlineFragment: (node) => (typeAllowed(node.typeCondition?.name.value) ? undefined : null),
      FragmentSpread: (node) =>
        typeAllowed(fragmentTypes.get(node.name.value)) ? undefined : null,
      SelectionSet: {
        leave: (node) => {
          const type = typeInfo.getParentType();
          if (type && isAbstractType(type))
            return { ...node, selections: [...node.selections, runtimeType()] };
          return node.selections.length === 0 ? { ...node, selections: [TYPENAME] } : undefined;
        },
      },
    }),
  );
  if (denied.size === 0) return null;
  const operation = getOperationAST(filtered, operationName);
  return {
    document: filtered,
    runtimeTypeKey: runtimeTypeField?.alias?.value ?? '',
    denied: [...denied].sort(),
    empty: operation?.selectionSet.selections[0] === TYPENAME,
  };
}

/**
 * The response to the caller's original operation, from the result of the filtered one. As in
 * Apollo Router, each field that was taken out is null with an UNAUTHORIZED_FIELD_OR_TYPE error
 * at its path, nulls propagate as the schema's non-null types demand, and the rest is as the
 * subgraphs answered. graphql-js does the walking: it executes the original operation over the
 * result, reading each field from the data by its response key.
 */
export function completeResponse({
  schema,
  original,
  operationName,
  variables,
  filtered,
  result,
  requirements,
  identity,
}: {
  /** A schema without resolvers of its own, so that every field is read from `result`. */
  schema: GraphQLSchema;
  /** The operation as the caller sent it. */
  original: DocumentNode;
  operationName: string | null | undefined;
  variables: Record<string, unknown> | undefined;
  filtered: FilteredOperation;
  /** What executing `filtered.document` gave. */
  result: ExecutionResult;
  requirements: AccessRequirements;
  identity: Identity | null;
}): ExecutionResult {
  // Nothing to lay the original operation over: the gateway's errors say why.
  if (result.data === null || result.data === undefined) return result;
  const denied = new Set(filtered.denied);
  const resolveFromResult: GraphQLFieldResolver<unknown, unknown> = (
    source,
    _args,
    _context,
    info,
  ) => {
    const value: unknown =
      typeof source === 'object' && source !== null
        ? Reflect.get(source, info.path.key)
        : undefined;
    if (value !== undefined) return value;
    // A key can also be missing because a subgraph failed; that stays a plain null, and the
    // gateway's own error says why.
    if (
      denied.has(`${info.parentType.name}.${info.fieldName}`) ||
      denied.has(getNamedType(info.returnType).name)
    ) {
      const field = info.parentType.getFields()[info.fieldName];
      throw unauthorized(info.parentType, field, requirements, identity);
    }
    return null;
  };

  const completed = execute({
    schema,
    document: original,
    operationName,
    variableValues: variables,
    rootValue: result.data,
    fieldResolver: resolveFromResult,
    typeResolver: (value) => {
      const type: unknown =
        typeof value === 'object' && value !== null
          ? Reflect.get(value, filtered.runtimeTypeKey)
          : undefined;
      return typeof type === 'string' ? type : undefined;
    },
  });
  if (!isExecutionResult(completed)) {
    // Nothing above returns a promise, so graphql-js completes synchronously.
    throw new Error('completing an authorized response went asynchronous');
  }
  const errors = [...(completed.errors ?? []), ...(result.errors ?? [])];
  return {
    data: completed.data ?? null,
    ...(errors.length > 0 ? { errors } : {}),
    ...(result.extensions ? { extensions: result.extensions } : {}),
  };
}

function isExecutionResult(value: unknown): value is ExecutionResult {
  return typeof value === 'object' && value !== null && !('then' in value);
}

/**
 * The coordinates under which a denied field can show up at run time: on an interface, each
 * implementation's field too, because graphql-js resolves against the object type.
 */
function coordinatesOf(
  schema: GraphQLSchema,
  parent: GraphQLCompositeType,
  field: GraphQLField<unknown, unknown>,
): string[] {
  const types = isObjectType(parent) ? [parent] : [parent, ...schema.getPossibleTypes(parent)];
  return types.map((type) => `${type.name}.${field.name}`);
}

function unauthorized(
  parent: GraphQLCompositeType,
  field: GraphQLField<unknown, unknown> | undefined,
  requirements: AccessRequirements,
  identity: Identity | null,
): GraphQLError {
  const coordinate = `${parent.name}.${field?.name ?? ''}`;
  const needed = field ? requirements.forField(parent, field) : [];
  const scopes = needed.flatMap((requirement) => requirement.scopes ?? []);
  const message = !identity
    ? `Log in to read ${coordinate}: send an access token in the Authorization header.`
    : scopes.length > 0
      ? `Your access token lacks the scope ${scopes.map((group) => group.join(' + ')).join(' or ')}, which ${coordinate} requires.`
      : `You are not allowed to read ${coordinate}.`;
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE },
  });
}
