import { buildSchema, findBreakingChanges, findDangerousChanges } from 'graphql';

export interface SchemaComparison {
  /** Breaking changes nobody acknowledged: these fail the check. */
  readonly unacknowledged: readonly string[];
  /** Breaking changes listed in the acknowledgements file. */
  readonly acknowledged: readonly string[];
  /** Changes that break nothing today but can change behaviour (a new enum value, a new default). */
  readonly dangerous: readonly string[];
}

/**
 * Compares two versions of the API schema with graphql-js's `findBreakingChanges`. A change is
 * acknowledged when its description (as graphql-js writes it, e.g. "Query.users was removed.")
 * is listed: a deliberate, reviewed decision to break clients.
 */
export function compareSchemas(
  before: string,
  after: string,
  acknowledgements: readonly string[],
): SchemaComparison {
  const oldSchema = buildSchema(before);
  const newSchema = buildSchema(after);
  const breaking = findBreakingChanges(oldSchema, newSchema).map((change) => change.description);
  const known = new Set(acknowledgements);
  return {
    unacknowledged: breaking.filter((description) => !known.has(description)),
    acknowledged: breaking.filter((description) => known.has(description)),
    dangerous: findDangerousChanges(oldSchema, newSchema).map((change) => change.description),
  };
}
