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
  GraphQLError,
  printSchema,
  type GraphQLSchema,
} from 'graphql';
import { ErrorCode } from '@supergraph/service-kit';
import type { Logger } from '@supergraph/service-kit';
import type { RouterContext } from '../context.js';
import { completeResponse, filterOperation } from './filterOperation.js';
import type { AccessRequirements } from './requirements.js';

interface SchemaBound {
  readonly requirements: AccessRequirements;
  readonly resolverFree: GraphQLSchema;
}

/**
 * Apollo Gateway with the authorization Apollo Router has and the gateway lacks: `@authenticated`
 * and `@requiresScopes` from the supergraph, enforced before query planning. A field the caller
 * may not see is taken out of the operation, so no subgraph is ever asked for it, and comes
 * back null with UNAUTHORIZED_FIELD_OR_TYPE. The subgraphs check the same directives again
 * (defence in depth), and alone decide `@policy`.
 *
 * It wraps the executor that ApolloServer gets from the gateway; everything else passes through.
 */
export class AuthorizingGateway implements GatewayInterface {
  private readonly bySchema = new WeakMap<GraphQLSchema, SchemaBound>();

  constructor(
    private readonly gateway: ApolloGateway,
    private readonly bindRequirements: (schema: GraphQLSchema) => AccessRequirements,
    private readonly logger: Logger,
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

  private boundTo(schema: GraphQLSchema): SchemaBound {
    let bound = this.bySchema.get(schema);
    if (!bound) {
      bound = {
        requirements: this.bindRequirements(schema),
        // The gateway's API schema carries its own resolvers (reading fields by alias), and
        // graphql-js prefers a field's resolver to the one completeResponse passes; a copy
        // without any lets completeResponse decide every field.
        resolverFree: buildSchema(printSchema(schema)),
      };
      this.bySchema.set(schema, bound);
    }
    return bound;
  }

  private authorizing(execute: GatewayExecutor): GatewayExecutor {
    return async (requestContext) => {
      // Apollo Gateway throws a plain Error for this, which would reach the client as a 500.
      // (Apollo Server's own `operationName` is that of the operation it found, null when none.)
      if (!getOperationAST(requestContext.document, requestContext.request.operationName)) {
        return { errors: [operationResolutionFailure(requestContext.request.operationName)] };
      }
      const { requirements, resolverFree } = this.boundTo(requestContext.schema);
      if (requirements.none) return execute(requestContext);
      const context: Partial<RouterContext> = requestContext.context;
      // Anonymous unless the router's context function established otherwise.
      const identity = context.identity ?? null;
      const { schema, document, operationName } = requestContext;
      const filtered = filterOperation(schema, document, operationName, requirements, identity);
      if (!filtered) return execute(requestContext);

      this.logger.info('fields taken out of an operation', {
        operationName,
        denied: filtered.denied,
        userId: identity?.id ?? null,
      });
      const result = filtered.empty
        ? { data: {} }
        : await execute({
            ...requestContext,
            document: filtered.document,
            // The gateway caches query plans by this hash. The original query's hash would hand
            // the next caller, whatever their rights, the plan made for this filtered document
            // (or this caller the plan of someone allowed more), so key it on what was removed.
            queryHash: createHash('sha256')
              .update(requestContext.queryHash)
              .update('\0')
              .update(filtered.denied.join('\0'))
              .digest('hex'),
          });
      return completeResponse({
        schema: resolverFree,
        original: document,
        operationName,
        variables: requestContext.request.variables,
        filtered,
        result,
        requirements,
        identity,
      });
    };
  }
}

function operationResolutionFailure(operationName: string | undefined): GraphQLError {
  return new GraphQLError(
    operationName
      ? `The document has no operation named "${operationName}".`
      : 'The document has several operations: name the one to run in operationName.',
    { extensions: { code: ErrorCode.OPERATION_RESOLUTION_FAILURE, http: { status: 400 } } },
  );
}
