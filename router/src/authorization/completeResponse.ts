import {
  execute,
  GraphQLError,
  isNonNullType,
  Kind,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import type { Identity } from '@supergraph/identity';
import { ErrorCode } from '@supergraph/service-kit';
import type { FilteredOperation, PathSegment, RemovedSelection } from './filterOperation.js';

/** Where the errors for selections taken out go (Apollo Router's `errors.response`). */
export const AUTHORIZATION_ERRORS_IN = ['errors', 'extensions', 'disabled'] as const;
export type AuthorizationErrorsIn = (typeof AUTHORIZATION_ERRORS_IN)[number];

/** Thrown for a non-null field that was taken out, so graphql-js nulls its parent. */
const TAKEN_OUT = new Error('taken out by the router’s authorization');

/**
 * The response to the caller's original operation, from the result of the filtered one: what
 * was taken out is null, nulls propagate as the schema's non-null types demand (as in Apollo
 * Router), and the rest is as the subgraphs answered. graphql-js does the walking: it executes
 * the original operation over the result, reading each field by its response key. The errors
 * for what was taken out are added by `withAuthorizationErrors`, one per selection.
 */
export function completeResponse({
  schema,
  original,
  operationName,
  variables,
  filtered,
  result,
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
}): ExecutionResult {
  // Nothing to lay the original operation over: the gateway's errors say why.
  if (result.data === null || result.data === undefined) return result;
  // Every selection of the filtered document has its key in the gateway's result (a null at
  // worst), so a missing key is a selection that was taken out.
  const resolveFromResult: GraphQLFieldResolver<unknown, unknown> = (source, _args, _ctx, info) => {
    const value: unknown =
      typeof source === 'object' && source !== null
        ? Reflect.get(source, info.path.key)
        : undefined;
    if (value !== undefined) return value;
    if (isNonNullType(info.returnType)) throw TAKEN_OUT;
    return null;
  };

  const completed = execute({
    schema,
    document: withoutFragmentsOn(original, filtered.hiddenTypes),
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
  const errors = [
    ...(completed.errors ?? []).filter((error) => error.originalError !== TAKEN_OUT),
    ...(result.errors ?? []),
  ];
  return {
    data: completed.data ?? null,
    ...(errors.length > 0 ? { errors } : {}),
    ...(result.extensions ? { extensions: result.extensions } : {}),
  };
}

/**
 * The caller's document less its fragments on types the caller may not see: a value of such a
 * type then comes back as `{}`, as from the filtered document, and not with its fields as
 * nulls, which would tell what type it is.
 */
function withoutFragmentsOn(document: DocumentNode, hidden: ReadonlySet<string>): DocumentNode {
  if (hidden.size === 0) return document;
  const hiddenFragments = new Set(
    document.definitions.flatMap((definition) =>
      definition.kind === Kind.FRAGMENT_DEFINITION &&
      hidden.has(definition.typeCondition.name.value)
        ? [definition.name.value]
        : [],
    ),
  );
  return visit(document, {
    InlineFragment: (node) =>
      node.typeCondition && hidden.has(node.typeCondition.name.value) ? null : undefined,
    FragmentSpread: (node) => (hiddenFragments.has(node.name.value) ? null : undefined),
  });
}

/** `result` with one UNAUTHORIZED_FIELD_OR_TYPE error per selection taken out, where configured. */
export function withAuthorizationErrors(
  result: ExecutionResult,
  removed: readonly RemovedSelection[],
  identity: Identity | null,
  where: AuthorizationErrorsIn,
): ExecutionResult {
  if (where === 'disabled' || removed.length === 0) return result;
  const errors = removed.map((selection) => unauthorized(selection, identity));
  if (where === 'extensions') {
    return {
      ...result,
      extensions: {
        ...result.extensions,
        authorizationErrors: errors.map((error) => error.toJSON()),
      },
    };
  }
  return { ...result, errors: [...(result.errors ?? []), ...errors] };
}

/**
 * Where a selection that was taken out would have been in the response, as Apollo Router
 * writes it: `@` for every item of a list, `... on T` for a fragment. Fields go by their response
 * key (alias), which is what a client can find in `data`; Router writes the field's name.
 */
export function responsePath(path: readonly PathSegment[]): string[] {
  return path.map((segment) =>
    segment.kind === 'field'
      ? segment.responseKey
      : segment.kind === 'list'
        ? '@'
        : `... on ${segment.typeName}`,
  );
}

function unauthorized(selection: RemovedSelection, identity: Identity | null): GraphQLError {
  const { requiredBy, requirement } = selection;
  const scopes = requirement.scopes ?? [];
  const needed = scopes.map((group) => group.join(' + ')).join(' or ');
  const message = !identity
    ? `Log in to read ${requiredBy}: send an access token in the Authorization header${needed ? ` (one with the scope ${needed})` : ''}.`
    : needed
      ? `Your access token lacks the scope ${needed}, which ${requiredBy} requires.`
      : `You are not allowed to read ${requiredBy}.`;
  const path = responsePath(selection.path);
  return new GraphQLError(message, {
    ...(path.length > 0 ? { path } : {}),
    extensions: { code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE },
  });
}

function isExecutionResult(value: unknown): value is ExecutionResult {
  return typeof value === 'object' && value !== null && !('then' in value);
}
