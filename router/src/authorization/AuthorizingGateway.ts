import { createHash } from 'node:crypto';
import type { ApolloGateway } from '@apollo/gateway';
import type {
  GatewayExecutor,
  GatewayInterface,
  GatewayLoadResult,
} from '@apollo/server-gateway-interface';
import {
  buildSchema,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  print,
  printSchema,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { ErrorCode } from '@supergraph/service-kit';
import type { Logger } from '@supergraph/service-kit';
import type { Identity } from '@supergraph/identity';
import type { RouterContext } from '../context.js';
import {
  completeResponse,
  withAuthorizationErrors,
  type AuthorizationErrorsIn,
} from './completeResponse.js';
import { filterOperation, routerPath, type FilteredOperation } from './filterOperation.js';
import type { AccessRequirements } from './requirements.js';

/** Apollo Router's `authorization.directives` options, as router settings (README, "Authorization"). */
export interface AuthorizationOptions {
  /** Refuse the whole operation when any part of it would be taken out (`reject_unauthorized`). */
  readonly rejectUnauthorized: boolean;
  /** Take nothing out; only report and log what would be (`dry_run`). */
  readonly dryRun: boolean;
  /** Where the errors for what was taken out go (`errors.response`). */
  readonly errors: AuthorizationErrorsIn;
  /** Log each operation that had something taken out (`errors.log`). */
  readonly log: boolean;
}

export const DEFAULT_AUTHORIZATION_OPTIONS: AuthorizationOptions = Object.freeze({
  rejectUnauthorized: false,
  dryRun: false,
  errors: 'errors',
  log: true,
});

/**
 * Apollo Gateway with the authorization Apollo Router has and the gateway lacks: `@authenticated`
 * and `@requiresScopes` from the supergraph, enforced before query planning. A selection the
 * caller may not see is taken out of the operation (filterOperation.ts), so no subgraph is ever
 * asked for it, and comes back null with UNAUTHORIZED_FIELD_OR_TYPE. The subgraphs check the
 * same directives again (defence in depth), and alone decide `@policy`.
 *
 * It wraps the executor that ApolloServer gets from the gateway; everything else passes through.
 */
export class AuthorizingGateway implements GatewayInterface {
  /** The API schema without resolvers, by the gateway's schema: see completeResponse. */
  private readonly resolverFree = new WeakMap<GraphQLSchema, GraphQLSchema>();
  private readonly filters = new WeakMap<
    DocumentNode,
    { schema: GraphQLSchema; filters: Map<string, KnownFilter | null> }
  >();

  constructor(
    private readonly gateway: ApolloGateway,
    private readonly requirements: AccessRequirements,
    private readonly logger: Logger,
    private readonly options: AuthorizationOptions = DEFAULT_AUTHORIZATION_OPTIONS,
  ) {}

  onSchemaLoadOrUpdate: GatewayInterface['onSchemaLoadOrUpdate'] = (callback) =>
    this.gateway.onSchemaLoadOrUpdate(callback);

  stop(): Promise<void> {
    return this.gateway.stop();
  }

  async load(options: Parameters<GatewayInterface['load']>[0]): Promise<GatewayLoadResult> {
    const { executor } = await this.gateway.load(options);
    return { executor: executor && this.authorizing(executor) };
  }

  private resolverFreeCopy(schema: GraphQLSchema): GraphQLSchema {
    let copy = this.resolverFree.get(schema);
    if (!copy) {
      // The gateway's API schema carries its own resolvers (reading fields by alias), and
      // graphql-js prefers a field's resolver to the one completeResponse passes; a copy
      // without any lets completeResponse decide every field.
      copy = buildSchema(printSchema(schema));
      this.resolverFree.set(schema, copy);
    }
    return copy;
  }

  /**
   * What the caller may run of `operation`, worked out once per document and rights. Apollo
   * Server hands every request with the same query text the same parsed document, and the
   * filter depends on nothing else but whether the caller is logged in and with which scopes,
   * so a client repeating its operations costs one filter per kind of caller.
   */
  private filterOnce(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    identity: Identity | null,
  ): KnownFilter | null {
    let byRights = this.filters.get(document);
    if (!byRights || byRights.schema !== schema) {
      byRights = { schema, filters: new Map() };
      this.filters.set(document, byRights);
    }
    const rights = `${operation.name?.value ?? ''}\0${identity ? `scopes:${[...identity.scopes].sort().join(' ')}` : 'anonymous'}`;
    const cached = byRights.filters.get(rights);
    if (cached !== undefined) return cached;
    const filtered = filterOperation(
      schema,
      onlyOperation(document, operation),
      this.requirements,
      identity,
      { dryRun: this.options.dryRun },
    );
    const known = filtered && {
      filtered,
      // The gateway caches query plans by this hash. The original query's hash would hand the
      // next caller, whatever their rights, the plan made for this filtered document (or this
      // caller the plan of someone allowed more), so key it on what is executed.
      queryHash: createHash('sha256')
        .update('authorized\0')
        .update(print(filtered.document))
        .digest('hex'),
    };
    // Scope sets are few; a client that could mint ever new ones only costs a filter each.
    if (byRights.filters.size >= MAX_FILTERS_PER_DOCUMENT) byRights.filters.clear();
    byRights.filters.set(rights, known);
    return known;
  }

  private authorizing(execute: GatewayExecutor): GatewayExecutor {
    return async (requestContext) => {
      // Apollo Gateway throws a plain Error for this, which would reach the client as a 500.
      // (Apollo Server's own `operationName` is that of the operation it found, null when none.)
      const operation = getOperationAST(
        requestContext.document,
        requestContext.request.operationName,
      );
      if (!operation) {
        return { errors: [operationResolutionFailure(requestContext.request.operationName)] };
      }
      if (this.requirements.none) return execute(requestContext);
      const context: Partial<RouterContext> = requestContext.context;
      // Anonymous unless the router's context function established otherwise.
      const identity = context.identity ?? null;
      const { schema, document, operationName } = requestContext;
      // Only the operation that runs: Router would report what the others lose too.
      const known = this.filterOnce(schema, document, operation, identity);
      if (!known) return execute(requestContext);
      const { filtered } = known;
      // Variables that do not fit their types are the request's fault whatever the caller may
      // see: said first, as the gateway would have said it, before anything is taken out.
      const coerced = getVariableValues(
        schema,
        operation.variableDefinitions ?? [],
        requestContext.request.variables ?? {},
        { maxErrors: 10 },
      );
      if (coerced.errors) {
        return {
          errors: coerced.errors.map(
            (error) =>
              new GraphQLError(error.message, {
                nodes: error.nodes,
                extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: 400 } },
              }),
          ),
        };
      }

      if (this.options.log) {
        this.logger.info(
          this.options.dryRun
            ? 'authorization would take selections out of an operation (dry run)'
            : 'authorization took selections out of an operation',
          {
            operationName,
            paths: filtered.removed.map((selection) => routerPath(selection.path)),
            userId: identity?.id ?? null,
          },
        );
      }
      const report = (result: ExecutionResult) =>
        withAuthorizationErrors(result, filtered.removed, identity, this.options.errors);
      // Router answers both with `data: null` and the errors, and runs nothing.
      if (filtered.empty || (this.options.rejectUnauthorized && !this.options.dryRun)) {
        return report({ data: null });
      }
      if (this.options.dryRun) return report(await execute(requestContext));

      const result = await execute({
        ...requestContext,
        document: filtered.document,
        queryHash: known.queryHash,
      });
      return report(
        completeResponse({
          schema: this.resolverFreeCopy(schema),
          original: document,
          operationName,
          variables: requestContext.request.variables,
          filtered,
          result,
        }),
      );
    };
  }
}

/** A filtered operation, and the hash its query plan is cached under. */
interface KnownFilter {
  readonly filtered: FilteredOperation;
  readonly queryHash: string;
}

const MAX_FILTERS_PER_DOCUMENT = 32;

/** `document` with one operation, the one that runs, and every fragment. */
function onlyOperation(document: DocumentNode, operation: OperationDefinitionNode): DocumentNode {
  const definitions = document.definitions.filter(
    (definition) => definition === operation || definition.kind === Kind.FRAGMENT_DEFINITION,
  );
  return definitions.length === document.definitions.length
    ? document
    : { ...document, definitions };
}

function operationResolutionFailure(operationName: string | undefined): GraphQLError {
  return new GraphQLError(
    operationName
      ? `The document has no operation named "${operationName}".`
      : 'The document has several operations: name the one to run in operationName.',
    { extensions: { code: ErrorCode.OPERATION_RESOLUTION_FAILURE, http: { status: 400 } } },
  );
}
