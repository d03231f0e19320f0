import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { GraphQLError } from 'graphql';
import type { ObjectId } from 'mongodb';
import { describeError, ErrorCode, type Logger } from '@supergraph/service-kit';
import type { LoginThrottleRepository } from '../db/loginThrottle.js';

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
   * an unknown one, the address's attempt is taken back and the username's stays (see below).
   * Either way it counts as one of the address's logins.
   */
  succeeded(): Promise<void>;
}

export interface LoginThrottle {
  /**
   * Counts a login attempt, or refuses it with LOGIN_THROTTLED. Call it before the password is
   * checked: a wrong password then needs nothing more, and a right one calls `succeeded`.
   * `deviceId` is that of a valid device token for this username (deviceTokens.ts), or null.
   */
  admit(
    attempt: { username: string; clientIp: string | null; deviceId?: string | null },
    now?: Date,
  ): Promise<LoginAttempt>;
}

/**
 * How many times an attempt judges a key anew after losing the next number to another attempt.
 * Each lost claim means another attempt won one, so failures at one key settle within its
 * allowance. Successful logins give their address's number back, so many people logging in at
 * once behind one address can take more rounds; this bound only stops an endless burst from
 * keeping a request busy.
 */
const MAX_CLAIM_ROUNDS = 30;

/**
 * Login throttling, with its state in MongoDB so that every users replica shares it. An attempt
 * from a device that logged in as this username before (a valid device token) counts against
 * that device alone. Any other attempt counts against the username and against the client's
 * address, and is refused while either is locked:
 * - the username's count keeps every such attempt, right or wrong, so its lock says nothing
 *   about whether the guess before it was right (a right guess that reset the count would tell
 *   anyone probing the lock later);
 * - the address's count gives a right password's attempt back, so people behind one NAT who
 *   type their passwords right never lock each other out;
 * - successful logins per address are bounded too, devices known or not.
 *
 * An attempt is judged against the attempts filed before it, and then claims the next number of
 * each key (db/loginThrottle.ts); an attempt that loses a number to a concurrent one judges that
 * key again. So fifteen logins in fifteen parallel requests check at most the allowance of
 * passwords between them, and at least one, however they interleave. Keys are claimed in one
 * order, username first, so that two attempts never each hold the key the other needs.
 */
export function createLoginThrottle(options: {
  repository: LoginThrottleRepository;
  settings: LoginThrottleSettings;
  logger: Logger;
}): LoginThrottle {
  const { repository, settings, logger } = options;
  let lastSweep = 0;

  return {
    async admit({ username, clientIp, deviceId = null }, now = new Date()) {
      const since = new Date(now.getTime() - settings.windowSeconds * 1000);
      // Now and then, and not in the way of this login.
      if (now.getTime() - lastSweep > 60_000) {
        lastSweep = now.getTime();
        void repository.deleteOlderThan(since).catch((error: unknown) => {
          logger.warn('could not sweep old login attempts', describeError(error));
        });
      }
      const bucket = clientIp ? addressBucket(clientIp) : 'unknown';
      const trusted = typeof deviceId === 'string';
      const keys = trusted
        ? [
            {
              scope: 'device',
              key: throttleKey('device', deviceId),
              allowance: settings.maxFailuresPerUsername,
            },
          ]
        : [
            {
              scope: 'username',
              key: throttleKey('username', username),
              allowance: settings.maxFailuresPerUsername,
            },
            // A login whose address is unknown shares one bucket with every other such login,
            // rather than skipping the address count: losing the address must never be a way around it.
            {
              scope: 'ip',
              key: throttleKey('ip', bucket),
              allowance: settings.maxFailuresPerIp,
            },
          ];
      // Read with the others, claimed only when a login succeeds.
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

      type Key = (typeof keys)[number];
      const read = async ({ key, allowance }: Key) => {
        const latest = await repository.latest(key, allowance + ATTEMPTS_READ_PAST_ALLOWANCE);
        const inWindow = latest.filter(({ at }) => at > since).map(({ at }) => at);
        return {
          next: (latest[0]?.seq ?? -1) + 1,
          wait: secondsLocked(inWindow, allowance, settings, now),
        };
      };

      // A locked key is refused without a write, so hammering it costs nothing and does not
      // stretch the lockout that `retryAfterSeconds` promised.
      const [loginsState, ...first] = await Promise.all([logins, ...keys].map(read));
      const waits = [loginsState?.wait ?? 0, ...first.map(({ wait }) => wait)];
      if (Math.max(...waits) > 0) {
        throw refuse(
          Math.max(...waits),
          [logins, ...keys].filter((_, i) => (waits[i] ?? 0) > 0).map((k) => k.scope),
        );
      }

      /**
       * Claims the key's next number. An attempt that loses it to a concurrent one judges the key
       * again and claims the number after, holding on to the keys it claimed before this one.
       */
      const claim = async (key: Key, state: { next: number; wait: number }) => {
        for (let round = 0; round < MAX_CLAIM_ROUNDS; round += 1) {
          if (state.wait > 0) throw refuse(state.wait, [key.scope]);
          const id = await repository.claim(key.key, state.next, now);
          if (id) return id;
          state = await read(key);
        }
        throw refuse(1, [key.scope, 'contention']);
      };

      const claimed: ObjectId[] = [];
      try {
        for (const [i, key] of keys.entries()) {
          claimed.push(await claim(key, first[i] ?? { next: 0, wait: 0 }));
        }
      } catch (error) {
        // Refused after all: this attempt checks no password, and counts against nothing.
        await repository.forget(claimed);
        throw error;
      }
      return {
        succeeded: async () => {
          await Promise.all([
            // The device's failures are its own; the username's claim stays (see above).
            trusted ? repository.reset(keys[0]?.key ?? '') : repository.forget(claimed.slice(1)),
            // Best effort: a login that lost every round for its number still happened.
            claim(logins, loginsState ?? { next: 0, wait: 0 }).catch(() => undefined),
          ]);
        },
      };
    },
  };
}
