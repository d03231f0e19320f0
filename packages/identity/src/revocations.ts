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

/** A revocation as the list carries it: with when it was made (ms since the epoch). */
export interface RevocationRecord extends SessionRevocation {
  readonly at: number;
}

/**
 * One page of `GET /revocations[?since=<cursor>]`: the revocations made after the cursor (or
 * within the window, without one), oldest first, at most a page of them. A router asks again
 * with `cursor` while `more` is true, and from then on asks only for what came after: a fetch
 * costs what was revoked since the last one, not the whole list.
 */
export interface RevocationList {
  /** How far back the list goes, in seconds: at least the lifetime of an access token. */
  readonly windowSeconds: number;
  readonly sessions: readonly RevocationRecord[];
  /** Where the next page, or the next fetch, starts. */
  readonly cursor: string;
  /** True when this page is full and more follow right away. */
  readonly more: boolean;
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

/** A router's copy of the list, kept up to date page by page. */
export interface RevocationCopy extends RevocationIndex {
  /** Adds a page, keeping the widest revocation of each session. */
  merge(sessions: readonly RevocationRecord[]): void;
  /** Forgets revocations made before `before` (ms): no token they could stop is still alive. */
  prune(before: number): void;
  readonly size: number;
}

export function createRevocationCopy(): RevocationCopy {
  const bySession = new Map<string, { upTo: number; at: number }>();
  return {
    merge(sessions) {
      for (const { sid, upTo = Infinity, at } of sessions) {
        const known = bySession.get(sid);
        bySession.set(sid, {
          upTo: Math.max(upTo, known?.upTo ?? -Infinity),
          at: Math.max(at, known?.at ?? -Infinity),
        });
      }
    },
    prune(before) {
      for (const [sid, { at }] of bySession) if (at < before) bySession.delete(sid);
    },
    get size() {
      return bySession.size;
    },
    isRevoked: ({ sid, gen }) => {
      const limit = sid === undefined ? undefined : bySession.get(sid)?.upTo;
      // A token of a revoked session that states no generation counts as an old one.
      return limit !== undefined && (gen ?? 0) <= limit;
    },
  };
}

/** Indexes a whole list by session, keeping the widest revocation of each. */
export function indexRevocations(list: Pick<RevocationList, 'sessions'>): RevocationIndex {
  const copy = createRevocationCopy();
  copy.merge(list.sessions);
  return copy;
}

/** At most this many revocations in one page of the list; see users' auth/revocations.ts. */
export const REVOCATIONS_PAGE_SIZE = 5_000;

/** Reads a page as `GET /revocations` answers it, or null when it is not one. */
export function parseRevocationList(value: unknown): RevocationList | null {
  const windowSeconds = field(value, 'windowSeconds');
  const sessions = field(value, 'sessions');
  const cursor = field(value, 'cursor');
  const more = field(value, 'more');
  if (
    typeof windowSeconds !== 'number' ||
    !Array.isArray(sessions) ||
    typeof cursor !== 'string' ||
    typeof more !== 'boolean' ||
    sessions.length > REVOCATIONS_PAGE_SIZE
  ) {
    return null;
  }
  const parsed: RevocationRecord[] = [];
  for (const session of sessions) {
    const sid = field(session, 'sid');
    const upTo = field(session, 'upTo');
    const at = field(session, 'at');
    if (typeof sid !== 'string' || typeof at !== 'number' || !Number.isFinite(at)) return null;
    if (upTo === undefined) parsed.push({ sid, at });
    else if (Number.isInteger(upTo) && typeof upTo === 'number') parsed.push({ sid, upTo, at });
    else return null;
  }
  return { windowSeconds, sessions: parsed, cursor, more };
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
}
