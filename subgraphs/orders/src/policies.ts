import { adminPolicy, type Policy } from '@supergraph/subgraph-kit';

function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field: unknown = Reflect.get(value, key);
  return typeof field === 'string' ? field : undefined;
}

/** The `@policy` names used in schema.graphql. Startup fails if the SDL names one missing here. */
export const policies: Readonly<Record<string, Policy>> = {
  /** On `type Order`: the caller placed this order. */
  owner: ({ identity, source }) =>
    identity !== null && stringField(source, 'userId') === identity.id,
  /** On `User.orders`: the caller is this user. */
  self: ({ identity, source }) => identity !== null && stringField(source, 'id') === identity.id,
  admin: adminPolicy,
};
