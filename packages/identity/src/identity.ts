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
  /**
   * The scopes that `@requiresScopes` checks: those the role grants (see `scopesForRole`) and
   * those the token's scope claim grants, sorted, each once.
   */
  readonly scopes: readonly string[];
}

/**
 * The scope that makes a caller an admin. "Admin" has one meaning in the graph, this scope,
 * whether the role grants it or a token's scope claim does: `@requiresScopes(scopes:
 * [["admin"]])`, the `admin` policy and every resolver that treats admins apart all read it
 * through `isAdmin`, as Apollo Router reads scopes.
 */
export const ADMIN_SCOPE = 'admin';

const SCOPES_BY_ROLE: Readonly<Record<Role, readonly string[]>> = {
  ADMIN: [ADMIN_SCOPE],
  USER: [],
};

/** Whether the caller holds the admin scope (see `ADMIN_SCOPE`); false for anonymous callers. */
export function isAdmin(identity: Identity | null | undefined): boolean {
  return identity?.scopes.includes(ADMIN_SCOPE) ?? false;
}

/**
 * The scopes a role grants. The SDL says `@requiresScopes(scopes: [["admin"]])`; this is the one
 * place that maps roles onto those scope names, so the router and every subgraph agree.
 */
export function scopesForRole(role: Role): readonly string[] {
  return SCOPES_BY_ROLE[role];
}

/** `grantedScopes` are the token's own (its scope claim), on top of what the role grants. */
export function createIdentity(
  id: string,
  role: Role,
  grantedScopes: readonly string[] = [],
): Identity {
  const scopes = Object.freeze([...new Set([...scopesForRole(role), ...grantedScopes])].sort());
  return Object.freeze({ id, role, scopes });
}

/** At most this many scopes in a token: they travel in a header on every subgraph request. */
export const MAX_SCOPES = 64;

/** At most this many in the header: a token's, and its role's on top. */
const MAX_IDENTITY_SCOPES =
  MAX_SCOPES + Math.max(...Object.values(SCOPES_BY_ROLE).map((scopes) => scopes.length));

/** A scope token as OAuth 2.0 defines it (RFC 6749, section 3.3): printable ASCII, no space, `"` or `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

/** Reads the `x-user-scopes` header: a token's scopes and its role's. */
export function parseIdentityScopes(value: unknown): string[] | null {
  return parseScopes(value, MAX_IDENTITY_SCOPES);
}

/**
 * Reads a list of scopes as OAuth writes it: a space-separated string (the `scope` claim of
 * RFC 8693 and RFC 9068, and our `x-user-scopes` header), or an array of strings (the `scp`
 * claim some identity providers use). Absent is none. Returns null for anything malformed, which
 * callers refuse rather than read as "no scopes".
 */
export function parseScopes(value: unknown, max = MAX_SCOPES): string[] | null {
  if (value === undefined) return [];
  const list: unknown[] | null =
    typeof value === 'string'
      ? value.split(' ').filter((scope) => scope !== '')
      : Array.isArray(value)
        ? value
        : null;
  if (!list || list.length > max) return null;
  const scopes: string[] = [];
  for (const scope of list) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) return null;
    scopes.push(scope);
  }
  return scopes;
}
