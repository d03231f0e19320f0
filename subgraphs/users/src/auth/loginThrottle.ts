import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { GraphQLError } from 'graphql';
import type { ObjectId } from 'mongodb';
import { describeError, ErrorCode, type Logger } from '@supergraph/service-kit';
import type { FiledAttempt, LoginThrottleRepository } from '../db/loginThrottle.js';

/** The numbers of login throttling; see the README's configuration table. */
export interface LoginThrottleSettings {
  /** Failed attempts a username gets before it is locked. */
  readonly maxFailuresPerUsername: number;
  /** Failed attempts an address (an IPv6 /64) gets, across usernames, before it is locked. */
  readonly maxFailuresPerIp: number;
  /** Successful logins an address gets, trusted devices' included, before it is locked. */
  readonly maxLoginsPerIp: number;
  /** Attempts older than this are forgotten. At least `maxLockoutSeconds` (config.ts checks). */
  readonly windowSeconds: number;
  /** The first lockout; each further failure doubles it. */
  readonly lockoutSeconds: number;
  readonly maxLockoutSeconds: number;
}

/** Past this many attempts the lockout is at its cap anyway, so no more are read. */
const ATTEMPTS_READ_PAST_ALLOWANCE = 40;

/**
 * How long a key stays locked after its latest attempt when `attempts` attempts count: not at
 * all below the allowance, then `lockoutSeconds`, doubling with every further failure up to
 * `maxLockoutSeconds` (exponential backoff).
 */
export function lockoutSeconds(
  attempts: number,
  allowance: number,
  settings: Pick<LoginThrottleSettings, 'lockoutSeconds' | 'maxLockoutSeconds'>,
): number {
  if (attempts < allowance) return 0;
  return Math.min(
    settings.maxLockoutSeconds,
    settings.lockoutSeconds * 2 ** (attempts - allowance),
  );
}

/** Seconds until a key with these attempts (newest first) admits one more; 0 for now. */
export function secondsLocked(
  attempts: readonly Date[],
  allowance: number,
  settings: Pick<LoginThrottleSettings, 'lockoutSeconds' | 'maxLockoutSeconds'>,
  now: Date,
): number {
  const latest = attempts[0];
  const lockout = lockoutSeconds(attempts.length, allowance, settings);
  // Not locked at all. Checked apart, because a concurrent attempt filed a moment after `now`
  // would otherwise leave a lockout of 0 seconds ending in the future.
  if (!latest || lockout === 0) return 0;
  return Math.max(0, (latest.getTime() + lockout * 1000 - now.getTime()) / 1000);
}

/**
 * A claim still pending after this long belongs to an attempt that will never settle it (its
 * process died, its write was lost): from then on it counts as a failure. So a crash locks a
 * username no longer than failures would, and a lost write is no way to a free guess. A live
 * attempt settles well before: its other claims, a credentials read and the settling write, each
 * bounded by MONGODB_TIMEOUT_MS, and one hash. Counting one too early only refuses sooner.
 */
export const PENDING_EXPIRY_SECONDS = 10;

/**
 * The longest an attempt waits for attempts in flight at its keys to settle, rather than be
 * refused for what they might turn out to be. Each round of the allowance takes one password
 * check: tens of milliseconds on MongoDB, a few hundred on FerretDB's SQLite backend under load.
 * With the wait for a password slot before it (at most 1 s), this stays well inside the router's
 * patience with the request (SUBGRAPH_TIMEOUT_MS, 5 s).
 */
export const MAX_SETTLE_WAIT_MS = 2_000;

/**
 * Between two looks at a key while waiting, jittered. Attempts of this process wake their waiters
 * as they settle; this is for what other replicas settle, and it keeps waiting cheap for the
 * database: a look is one read, shared by every waiter of the process at that key.
 */
const SETTLE_POLL_MS = 60;

/** When a filed attempt began to be in flight. */
const startOf = (attempt: FiledAttempt) => (attempt.startedAt ?? attempt.at).getTime();

/** When a filed attempt stopped being in flight: now for a live pending one. */
function endOf(attempt: FiledAttempt, now: Date): number {
  if (attempt.state === 'pending') {
    return Math.min(now.getTime(), attempt.at.getTime() + PENDING_EXPIRY_SECONDS * 1000);
  }
  return (attempt.settledAt ?? attempt.at).getTime();
}

/**
 * When the burst that an attempt in flight since `startedAt` belongs to began: the earliest start
 * among the filed attempts in flight with it, directly or through one another. Logins sent
 * together reach the service spread out (queues, the database), so the last of them may start
 * after the first have ended; the burst still holds them together while any is in flight.
 * Withdrawn claims checked no password and hold nothing together.
 */
export function burstStart(attempts: readonly FiledAttempt[], startedAt: Date, now: Date): Date {
  let start = startedAt.getTime();
  for (let grew = true; grew;) {
    grew = false;
    for (const attempt of attempts) {
      const began = startOf(attempt);
      if (attempt.state !== 'withdrawn' && began < start && endOf(attempt, now) >= start) {
        start = began;
        grew = true;
      }
    }
  }
  return new Date(start);
}

/** How a filed attempt weighs for an attempt whose burst began at `burst`, judged at `now`. */
export function standing(
  attempt: FiledAttempt,
  burst: Date,
  now: Date,
): 'counts' | 'pending' | 'ignored' {
  switch (attempt.state) {
    case 'withdrawn':
      return 'ignored';
    case 'succeeded':
      // A right password counts for the attempts that come after it, so that a lock never tells
      // whether the guess before it was right; not for those of its own burst, or logins with
      // the right password sent together would lock one another out.
      return startOf(attempt) < burst.getTime() ? 'counts' : 'ignored';
    case 'pending':
      return now.getTime() - attempt.at.getTime() > PENDING_EXPIRY_SECONDS * 1000
        ? 'counts'
        : 'pending';
    default:
      return 'counts';
  }
}

/**
 * What an attempt does about one key: claim its next number (`room`: how many attempts the key
 * admits now, this one among them), be refused, or wait and look again. `seconds` is the lockout
 * that follows if the attempts in flight fail (with the room taken, for `claim`).
 */
export type Verdict =
  | { readonly kind: 'claim'; readonly room: number; readonly seconds: number }
  | { readonly kind: 'refuse'; readonly seconds: number }
  | { readonly kind: 'wait'; readonly seconds: number };

/**
 * Judges one key for an attempt whose burst began at `burst` (`burstStart`), from the key's latest
 * attempts (newest first). Attempts in flight are judged as if they will fail: an attempt is let
 * in only if the key would still admit it after every one of them failed, so parallel guesses can
 * never check more passwords than the allowance. When only that "if" stands in the way, the
 * attempt waits for them to settle instead of being refused: right passwords among them weigh
 * nothing for it (`standing`), wrong ones lock it out. `seconds` is the lockout should they all
 * fail.
 */
export function judgeKey(
  attempts: readonly FiledAttempt[],
  allowance: number,
  settings: Pick<LoginThrottleSettings, 'lockoutSeconds' | 'maxLockoutSeconds' | 'windowSeconds'>,
  { burst, now }: { burst: Date; now: Date },
): Verdict {
  const since = now.getTime() - settings.windowSeconds * 1000;
  const settled: Date[] = [];
  const ifAllFail: Date[] = [];
  for (const attempt of attempts) {
    if (attempt.at.getTime() <= since) continue;
    const weight = standing(attempt, burst, now);
    if (weight === 'ignored') continue;
    if (weight === 'counts') settled.push(attempt.at);
    ifAllFail.push(attempt.at);
  }
  const seconds = secondsLocked(ifAllFail, allowance, settings, now);
  if (seconds === 0) {
    // The most attempts admitted now that still leave the key open should all of them and
    // everything in flight fail (at least this one), and the lockout that would follow them,
    // counted from now. In closed form: allowances run to a million in a benchmark.
    const room = Math.min(allowance, Math.max(1, allowance - ifAllFail.length));
    return {
      kind: 'claim',
      room,
      seconds: lockoutSeconds(room + ifAllFail.length, allowance, settings),
    };
  }
  const locked =
    settled.length === ifAllFail.length || secondsLocked(settled, allowance, settings, now) > 0;
  return locked ? { kind: 'refuse', seconds } : { kind: 'wait', seconds };
}

/**
 * The bucket an address is throttled in. An IPv4 address is one bucket; an IPv6 address counts
 * as its /64, because one subscriber usually gets a whole /64 and could otherwise change address
 * for every attempt.
 */
export function addressBucket(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, without leading zeros. Expects a valid address. */
function expandIPv6(ip: string): string[] {
  let address = ip.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    const hex = (high = 0, low = 0) => ((high << 8) | low).toString(16);
    address = `${address.slice(0, dotted.index)}${hex(a, b)}:${hex(c, d)}`;
  }
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros =
    tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].map((group) => parseInt(group, 16).toString(16));
}

function throttleKey(scope: 'username' | 'ip' | 'device' | 'ip-logins', value: string): string {
  return createHash('sha256').update(`${scope}\0${value}`).digest('hex');
}

/**
 * The one refusal, for an existing username and an unknown one alike, so that it says nothing
 * about which accounts exist (issue #4).
 */
function throttled(seconds: number): GraphQLError {
  const retryAfterSeconds = Math.max(1, Math.ceil(seconds));
  return new GraphQLError(
    `Too many failed login attempts. Wait ${retryAfterSeconds} seconds, then try again.`,
    { extensions: { code: ErrorCode.LOGIN_THROTTLED, retryAfterSeconds } },
  );
}

export interface LoginAttempt {
  /**
   * The password was right. From a known device, that device's failures are forgotten; from
   * an unknown one, the address's attempt is given back and the username's counts for the
   * attempts that come after its burst (see below). Either way it counts as one of the
   * address's logins.
   */
  succeeded(): Promise<void>;
  /**
   * The password was wrong: the attempt counts as a failure at once. One that never calls
   * either (its process died) counts as a failure after PENDING_EXPIRY_SECONDS.
   */
  failed(): Promise<void>;
}

export interface LoginThrottle {
  /**
   * Counts a login attempt, or refuses it with LOGIN_THROTTLED. Call it before the password is
   * checked, then `succeeded` or `failed`. `deviceId` is that of a valid device token for this
   * username (deviceTokens.ts), or null. `startedAt` is when the login arrived, before it waited
   * for a password slot: from then on it is in flight, part of the burst of the logins in flight
   * with it (`burstStart`).
   */
  admit(attempt: {
    username: string;
    clientIp: string | null;
    deviceId?: string | null;
    startedAt?: Date;
  }): Promise<LoginAttempt>;
}

/**
 * How many times an attempt judges a key anew after losing the next number to another attempt.
 * Each lost claim means another attempt won one, so failures at one key settle within its
 * allowance. Right passwords give room back, so many people logging in at once (behind one
 * address, or as one username) can take more rounds; this bound only stops an endless burst from
 * keeping a request busy.
 */
const MAX_CLAIM_ROUNDS = 30;

/**
 * Login throttling, with its state in MongoDB so that every users replica shares it. An attempt
 * from a device that logged in as this username before (a valid device token) counts against
 * that device alone. Any other attempt counts against the username and against the client's
 * address, and is refused while either is locked:
 * - the username's count keeps every such attempt, right or wrong, for the attempts that come
 *   after it, so its lock says nothing about whether the guess before it was right (a right guess
 *   that reset the count would tell anyone probing the lock later); logins in flight together
 *   (a burst) do not hold one another's right passwords against each other (`standing`);
 * - the address's count gives a right password's attempt back, so people behind one NAT who
 *   type their passwords right never lock each other out;
 * - successful logins per address are bounded too, devices known or not.
 *
 * An attempt is judged against the attempts filed before it, those still in flight judged as if
 * they will fail (`judgeKey`), and then claims the next number of each key as pending
 * (db/loginThrottle.ts); an attempt that loses a number to a concurrent one judges that key again.
 * So fifteen wrong guesses in fifteen parallel requests check at most the allowance of passwords
 * between them, and at least one, however they interleave; an attempt that is held back only by
 * attempts in flight waits up to MAX_SETTLE_WAIT_MS for them, so that right passwords sent
 * together get in as those before them succeed. A success only ever frees room for attempts of
 * its own burst and a failure never does, so however an attacker mixes guesses with the owner's
 * logins, no more wrong passwords are checked than the allowance. Keys are claimed in one order,
 * username first, so that two attempts never each hold the key the other needs.
 */
export function createLoginThrottle(options: {
  repository: LoginThrottleRepository;
  settings: LoginThrottleSettings;
  logger: Logger;
}): LoginThrottle {
  const { repository, settings, logger } = options;
  let lastSweep = 0;

  /**
   * What this process's attempts at one key share while any of them is at it: one read of the
   * key at a time, the number of its claims under way, and the wake-ups of those waiting, called
   * when one of them files or settles a claim there. Only an economy for the database: the state
   * is in MongoDB, and other replicas' claims are seen by looking again.
   */
  interface Shared {
    reading: Promise<FiledAttempt[]> | null;
    claiming: number;
    readonly waiting: Set<() => void>;
    users: number;
  }
  const shared = new Map<string, Shared>();
  const enter = (key: string): Shared => {
    let entry = shared.get(key);
    if (!entry) {
      entry = { reading: null, claiming: 0, waiting: new Set(), users: 0 };
      shared.set(key, entry);
    }
    entry.users += 1;
    return entry;
  };
  const leave = (key: string, entry: Shared) => {
    entry.users -= 1;
    if (entry.users === 0) shared.delete(key);
  };
  const wake = (keys: readonly string[]) => {
    for (const key of keys) for (const waiter of [...(shared.get(key)?.waiting ?? [])]) waiter();
  };
  /** Until `entry` is woken, or a jittered poll interval has passed. */
  const nap = (entry: Shared) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        entry.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, SETTLE_POLL_MS * (0.5 + Math.random()));
      entry.waiting.add(done);
    });

  return {
    async admit({ username, clientIp, deviceId = null, startedAt = new Date() }) {
      const deadline = Date.now() + MAX_SETTLE_WAIT_MS;
      // Now and then, and not in the way of this login.
      if (Date.now() - lastSweep > 60_000) {
        lastSweep = Date.now();
        void repository
          .deleteOlderThan(new Date(lastSweep - settings.windowSeconds * 1000))
          .catch((error: unknown) => {
            logger.warn('could not sweep old login attempts', describeError(error));
          });
      }
      const bucket = clientIp ? addressBucket(clientIp) : 'unknown';
      const trusted = typeof deviceId === 'string';
      /** `onSuccess`: what a right password does to the attempt's claim at the key. */
      const keys: {
        scope: string;
        key: string;
        allowance: number;
        onSuccess: 'clear' | 'succeeded' | 'withdrawn';
      }[] = trusted
        ? [
            {
              scope: 'device',
              key: throttleKey('device', deviceId),
              allowance: settings.maxFailuresPerUsername,
              onSuccess: 'clear',
            },
          ]
        : [
            {
              scope: 'username',
              key: throttleKey('username', username),
              allowance: settings.maxFailuresPerUsername,
              onSuccess: 'succeeded',
            },
            // A login whose address is unknown shares one bucket with every other such login,
            // rather than skipping the address count: losing the address must never be a way around it.
            {
              scope: 'ip',
              key: throttleKey('ip', bucket),
              allowance: settings.maxFailuresPerIp,
              onSuccess: 'withdrawn',
            },
          ];
      // Read with the others, claimed (as counting at once) only when a login succeeds.
      const logins = {
        scope: 'ip-logins',
        key: throttleKey('ip-logins', bucket),
        allowance: settings.maxLoginsPerIp,
      };
      const refuse = (wait: number, scopes: string[]) => {
        // Never the username: people type passwords into that box.
        logger.info('login throttled', { scopes, clientIp, retryAfterSeconds: Math.ceil(wait) });
        return throttled(wait);
      };

      type Key = Pick<(typeof keys)[number], 'scope' | 'key' | 'allowance'>;
      type KeyState = { next: number; verdict: Verdict };
      const read = async ({ key, allowance }: Key): Promise<KeyState> => {
        const limit = allowance + ATTEMPTS_READ_PAST_ALLOWANCE;
        const entry = enter(key);
        let latest: FiledAttempt[];
        try {
          // A read that began before this call is as good as a new one: a claim filed since it
          // took a number this read does not know, so this attempt's claim of it fails and it
          // looks again; a claim settled since only ever weighs less than when it was pending.
          latest = await (entry.reading ??= repository.latest(key, limit).finally(() => {
            entry.reading = null;
          }));
        } finally {
          leave(key, entry);
        }
        const now = new Date();
        const burst = burstStart(latest, startedAt, now);
        // Attempts that weigh nothing here (given back, or right passwords of this burst) could
        // crowd out of the page the ones that count: then read those alone.
        const page =
          latest.length === limit &&
          latest.some((attempt) => standing(attempt, burst, now) === 'ignored')
            ? await repository.latest(key, limit, { burst })
            : latest;
        return {
          next: (latest[0]?.seq ?? -1) + 1,
          verdict: judgeKey(page, allowance, settings, { burst, now }),
        };
      };

      // A locked key is refused without a write, so hammering it costs nothing and does not
      // stretch the lockout that `retryAfterSeconds` promised.
      const all: Key[] = [logins, ...keys];
      const [loginsState, keyStates] = await Promise.all([
        read(logins),
        Promise.all(keys.map(async (key) => ({ key, state: await read(key) }))),
      ]);
      const waits = [loginsState, ...keyStates.map(({ state }) => state)].map(({ verdict }) =>
        verdict.kind === 'refuse' ? verdict.seconds : 0,
      );
      if (Math.max(...waits) > 0) {
        throw refuse(
          Math.max(...waits),
          all.filter((_, i) => (waits[i] ?? 0) > 0).map((k) => k.scope),
        );
      }

      /**
       * Claims the key's next number. An attempt that loses it to a concurrent one judges the key
       * again and claims the number after, holding on to the keys it claimed before this one; one
       * held back by attempts in flight looks again until they settle or its wait is over.
       */
      const claim = async (key: Key, state: KeyState, pending: boolean) => {
        const entry = enter(key.key);
        try {
          for (let lost = 0; lost < MAX_CLAIM_ROUNDS;) {
            const { verdict } = state;
            if (verdict.kind === 'refuse') throw refuse(verdict.seconds, [key.scope]);
            // Past the key's room, more claims from this process would only race one another
            // for the same numbers: wait for those under way instead.
            if (verdict.kind === 'wait' || entry.claiming >= verdict.room) {
              if (Date.now() >= deadline) {
                throw refuse(verdict.seconds, [key.scope, 'pending']);
              }
              await nap(entry);
            } else {
              entry.claiming += 1;
              const id = await repository
                .claim(key.key, state.next, { at: new Date(), startedAt, pending })
                .finally(() => {
                  entry.claiming -= 1;
                  wake([key.key]);
                });
              if (id) return id;
              lost += 1;
            }
            state = await read(key);
          }
          throw refuse(1, [key.scope, 'contention']);
        } finally {
          leave(key.key, entry);
        }
      };

      const claimed: { id: ObjectId; key: (typeof keys)[number] }[] = [];
      /** Settles this attempt's claims, and wakes this process's attempts waiting on them. */
      const settle = (
        settlements: Parameters<LoginThrottleRepository['settle']>[0],
        now = new Date(),
      ) =>
        repository.settle(settlements, now).finally(() => wake(claimed.map(({ key }) => key.key)));
      try {
        for (const { key, state } of keyStates) {
          claimed.push({ id: await claim(key, state, true), key });
        }
      } catch (error) {
        // Refused after all: this attempt checks no password, and counts against nothing.
        await settle(claimed.map(({ id }) => ({ id, as: 'withdrawn' })));
        throw error;
      }
      return {
        failed: () => settle(claimed.map(({ id }) => ({ id, as: 'failed' }))),
        succeeded: async () => {
          const now = new Date();
          const stalePendingBefore = new Date(now.getTime() - PENDING_EXPIRY_SECONDS * 1000);
          const settlements = claimed.flatMap(({ id, key: { onSuccess } }) =>
            onSuccess === 'clear' ? [] : [{ id, as: onSuccess }],
          );
          await Promise.all([
            settle(settlements, now),
            // A known device's failures are its own, and a right password forgets them.
            ...claimed
              .filter(({ key }) => key.onSuccess === 'clear')
              .map(({ id, key }) =>
                repository
                  .reset(key.key, { stalePendingBefore, ids: [id] })
                  .finally(() => wake([key.key])),
              ),
            // Best effort: a login that lost every round for its number still happened.
            claim(logins, loginsState, false).catch(() => undefined),
          ]);
        },
      };
    },
  };
}
