import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { ErrorCode } from '@supergraph/service-kit';

function toDate(value: unknown): Date {
  const date =
    value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new GraphQLError(
      'DateTime must be an ISO-8601 string such as 2026-11-24T13:00:00.000Z.',
      {
        extensions: { code: ErrorCode.BAD_USER_INPUT },
      },
    );
  }
  return date;
}

/** `scalar DateTime`, shared by every subgraph: ISO-8601 strings in UTC on the wire, `Date` inside. */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An instant in time, as an ISO-8601 string in UTC.',
  serialize: (value) => toDate(value).toISOString(),
  parseValue: (value) => toDate(value),
  parseLiteral: (ast) => toDate(ast.kind === Kind.STRING ? ast.value : undefined),
});
