import type { Identity } from '@supergraph/identity';

/** The router's per-request GraphQL context: who is calling, as established from their token. */
export interface RouterContext {
  /** null for an anonymous caller. */
  readonly identity: Identity | null;
  /**
   * The caller's IP address (see identity/clientIp.ts), or null when the socket has none. It is
   * signed onto subgraph requests so that the users subgraph can throttle logins per address.
   */
  readonly clientIp: string | null;
}
