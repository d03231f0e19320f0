/**
 * Access token revocation: the contract between the users subgraph, which records revocations
 * in MongoDB, and the routers, which check access tokens and have no database. A router fetches
 * the list from the users subgraph's `GET /revocations`, signed like any subgraph request, and
 * refuses the tokens it names. The list is short: it holds only what was revoked within the
 * lifetime of an access token, since anything older has expired anyway.
 *
 * Access tokens from the users subgraph name their session (`sid`, one login's refresh token
 * family) and the refresh that issued them (`gen`: 0 at login, then 1, 2, ...). A revocation
 * names a session and either ends it (logout, a reused refresh token, a new password) or revokes
 * its tokens up to a generation (a new role), so that the next refresh issues one that works.
 * Generations count exactly where timestamps would not: `iat` has whole seconds, and a login or
 * a refresh in the second of a revocation must not be caught by it.
 */
export const REVOCATIONS_PATH = '/revocations';

/**
 * What the router signs a request for the list as. Not `users`: the signature covers the body,
 * not the method or path, and a captured signature over this empty body must not pass as one
 * for a GraphQL request (`GET /graphql?query=...` has an empty body too).
 */
export const REVOCATIONS_AUDIENCE = 'users:revocations';

export interface SessionRevocation {
  readonly sid: string;
  /** Access tokens of generations up to this one are revoked; absent: all of them. */
  readonly upTo?: number;
}

export interface RevocationList {
  /** How far back the list goes, in seconds: at least the lifetime of an access token. */
  readonly windowSeconds: number;
  readonly sessions: readonly SessionRevocation[];
}

/** The claims of an access token that revocation looks at. */
export interface RevocableToken {
  /** Tokens from other issuers may have no session, and are not revocable here. */
  readonly sid?: string | undefined;
  readonly gen?: number | undefined;
}

export interface RevocationIndex {
  isRevoked(token: RevocableToken): boolean;
}

/** Indexes a list by session, keeping the widest revocation of each. */
export function indexRevocations(list: RevocationList): RevocationIndex {
  const upTo = new Map<string, number>();
  for (const { sid, upTo: generation = Infinity } of list.sessions) {
    upTo.set(sid, Math.max(generation, upTo.get(sid) ?? -Infinity));
  }
  return {
    isRevoked: ({ sid, gen }) => {
      const limit = sid === undefined ? undefined : upTo.get(sid);
      // A token of a revoked session that states no generation counts as an old one.
      return limit !== undefined && (gen ?? 0) <= limit;
    },
  };
}

/** Reads a list as `GET /revocations` answers it, or null when it is not one. */
export function parseRevocationList(value: unknown): RevocationList | null {
  const windowSeconds = field(value, 'windowSeconds');
  const sessions = field(value, 'sessions');
  if (typeof windowSeconds !== 'number' || !Array.isArray(sessions)) return null;
  const parsed: SessionRevocation[] = [];
  for (const session of sessions) {
    const sid = field(session, 'sid');
    const upTo = field(session, 'upTo');
    if (typeof sid !== 'string') return null;
    if (upTo === undefined) parsed.push({ sid });
    else if (Number.isInteger(upTo) && typeof upTo === 'number') parsed.push({ sid, upTo });
    else return null;
  }
  return { windowSeconds, sessions: parsed };
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
}
