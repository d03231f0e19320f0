import {
  createRevocationCopy,
  parseRevocationList,
  REVOCATIONS_AUDIENCE,
  signRequest,
  type RevocableToken,
  type RevocationCopy,
  type RevocationIndex,
  type RevocationList,
} from '@supergraph/identity';
import { ErrorCode, HttpError, describeError, type Logger } from '@supergraph/service-kit';

/** Pages of the list one fetch reads at most (REVOCATIONS_PAGE_SIZE revocations each). */
const MAX_PAGES_PER_FETCH = 20;

/** How long a request waits for a list being fetched when the router has a copy. */
const MAX_WAIT_MS = 2_000;

/** `promise`'s value if it settles within `ms`, else `fallback` (a rejection gives `fallback` too). */
async function within<T>(ms: number, promise: Promise<T | undefined>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return (await Promise.race([promise, late])) ?? fallback;
  } finally {
    clearTimeout(timer);
  }
}

/** Whether an access token was revoked (logout, reuse, a new password or role). */
export interface RevocationCheck {
  (token: RevocableToken): Promise<boolean>;
  /** For readiness: true once the router holds a copy of the list, else what is wrong. */
  ready(): Promise<true | string>;
  /** Seconds since the copy was last fetched whole; Infinity before the first time. */
  ageSeconds(): number;
}

/**
 * Checks access tokens against the revocations the users subgraph recorded in MongoDB (see
 * packages/identity/src/revocations.ts). The router keeps a copy of the list and fetches it
 * again, once for all the requests waiting, when the copy is older than `refreshMs`: a
 * revocation made through any users replica reaches every router within that time.
 *
 * When the list cannot be fetched, the router goes on with its copy, and tries again only after
 * `refreshMs` (a second at least), so that an outage of the users subgraph costs one short wait
 * per interval rather than one per request, and logged-in callers keep getting answers from the
 * other subgraphs. Revocations the copy lacks were made after the outage began, through another
 * router; they apply once the list can be fetched again. Without any copy (the users subgraph
 * unreachable since the router started) it answers 503, as it does when the JWKS is unreachable.
 */
export function createRevocationCheck(options: {
  url: string;
  /** The router's signing secret: the list is served to the router only. */
  secret: string;
  refreshMs: number;
  timeoutMs: number;
  logger: Logger;
}): RevocationCheck {
  const { url, secret, refreshMs, timeoutMs, logger } = options;
  let copy: RevocationCopy | undefined;
  /** The first list while its pages come in. */
  let building: RevocationCopy | undefined;
  /** Where the next fetch starts: only what was revoked since the last one is fetched. */
  let cursor: string | undefined;
  let nextFetchAt = 0;
  /** When the last fetch that completed the copy began. */
  let fetchedAt: number | undefined;
  let fetching: Promise<RevocationIndex | undefined> | undefined;

  async function fetchPage(since: string | undefined): Promise<RevocationList> {
    const pageUrl = new URL(url);
    if (since !== undefined) pageUrl.searchParams.set('since', since);
    const response = await fetch(pageUrl, {
      headers: signRequest({
        secret,
        audience: REVOCATIONS_AUDIENCE,
        userId: undefined,
        role: undefined,
        body: '',
      }),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    if (!response.ok) throw new Error(`answered HTTP ${response.status}`);
    const list = parseRevocationList(await response.json());
    if (!list) throw new Error('answered something that is not a revocation list');
    return list;
  }

  async function fetchList(): Promise<RevocationIndex | undefined> {
    // Counted from when the list was asked for: nothing revoked before then is missing from it.
    const startedAt = Date.now();
    try {
      // The first list is built apart and used only whole. After it, pages go straight into
      // the copy: revocations only add up, and a fetch that fails halfway is repeated from the
      // same cursor.
      const into = copy ?? (building ??= createRevocationCopy());
      let since = cursor;
      for (let page = 1; ; page += 1) {
        const list = await fetchPage(since);
        into.merge(list.sessions);
        since = list.cursor;
        if (!list.more) {
          into.prune(startedAt - list.windowSeconds * 1000);
          break;
        }
        if (page >= MAX_PAGES_PER_FETCH) {
          // The rest comes with the next fetch; a first list is not used until it is whole.
          cursor = since;
          throw new Error(`more than ${MAX_PAGES_PER_FETCH} pages of revocations in one fetch`);
        }
      }
      copy = into;
      building = undefined;
      cursor = since;
      fetchedAt = startedAt;
      nextFetchAt = startedAt + refreshMs;
    } catch (error) {
      logger.error('could not fetch the revocation list; going on with the last copy', {
        url,
        hasCopy: copy !== undefined,
        ...describeError(error),
      });
      nextFetchAt = Date.now() + Math.max(refreshMs, 1_000);
    }
    return copy;
  }

  async function current(): Promise<RevocationIndex> {
    if (Date.now() >= nextFetchAt) {
      fetching ??= fetchList().finally(() => {
        fetching = undefined;
      });
    }
    // With a copy, a request waits for a fresh list only briefly: a users subgraph that hangs
    // must not hold every logged-in request for the whole fetch timeout.
    const index =
      copy && fetching ? await within(MAX_WAIT_MS, fetching, copy) : ((await fetching) ?? copy);
    if (index) return index;
    throw new HttpError(
      503,
      ErrorCode.SERVICE_UNAVAILABLE,
      'Access tokens cannot be checked right now. Try again shortly.',
    );
  }

  const check = async (token: RevocableToken) => (await current()).isRevoked(token);
  return Object.assign(check, {
    ready: async () =>
      (await current().then(
        () => true as const,
        () => undefined,
      )) ?? 'the revocation list has not been fetched yet',
    ageSeconds: () =>
      fetchedAt === undefined ? Number.POSITIVE_INFINITY : (Date.now() - fetchedAt) / 1000,
  });
}
