/** The roles a caller can have. Keep in sync with `enum Role` in subgraphs/users/schema.graphql. */
export const ROLES = ['ADMIN', 'USER'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/**
 * Who is calling, as established by the router from a verified access token. A subgraph sees
 * `null` for an anonymous caller; it never sees an identity it could not verify.
 */
export interface Identity {
  /** The user id: the token's `sub`. */
  readonly id: string;
  readonly role: Role;
  /** The scopes that `@requiresScopes` checks, derived from the role (see `scopesForRole`). */
  readonly scopes: readonly string[];
}

const SCOPES_BY_ROLE: Readonly<Record<Role, readonly string[]>> = {
  ADMIN: ['admin'],
  USER: [],
};

/**
 * The scopes a role grants. The SDL says `@requiresScopes(scopes: [["admin"]])`; this is the one
 * place that maps roles onto those scope names, so the router and every subgraph agree.
 */
export function scopesForRole(role: Role): readonly string[] {
  return SCOPES_BY_ROLE[role];
}

export function createIdentity(id: string, role: Role): Identity {
  return Object.freeze({ id, role, scopes: scopesForRole(role) });
}
