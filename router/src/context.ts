import type { Identity } from '@supergraph/identity';

/** The router's per-request GraphQL context: who is calling, as established from their token. */
export interface RouterContext {
  /** null for an anonymous caller. */
  readonly identity: Identity | null;
}
