import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import { createFormatError, type Logger } from '@supergraph/service-kit';
import type { AuthorizationContext } from './authorization.js';

/**
 * Apollo Server settings every subgraph shares. Only the router talks to a subgraph, so there is
 * no landing page, and inline tracing is off: otherwise anyone who can reach the subgraph could
 * ask for `ftv1` traces with a header.
 */
export function createSubgraphApolloServer<TContext extends AuthorizationContext>(
  schema: GraphQLSchema,
  logger: Logger,
): ApolloServer<TContext> {
  return new ApolloServer<TContext>({
    schema,
    logger,
    plugins: [ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginLandingPageDisabled()],
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError(logger),
    // Subgraphs only see the router's requests; the router refuses batches itself.
    allowBatchedHttpRequests: false,
  });
}
