import { describe, expect, it } from 'vitest';
import type { FiledAttempt } from '../db/loginThrottle.js';
import {
  addressBucket,
  burstStart,
  judgeKey,
  lockoutSeconds,
  PENDING_EXPIRY_SECONDS,
  secondsLocked,
  standing,
} from './loginThrottle.js';

const settings = { lockoutSeconds: 30, maxLockoutSeconds: 900 };

describe('lockoutSeconds', () => {
  it('is nothing within the allowance, then doubles from the first lockout up to the cap', () => {
    expect([0, 4].map((n) => lockoutSeconds(n, 5, settings))).toEqual([0, 0]);
    expect([5, 6, 7, 8, 9, 10, 50].map((n) => lockoutSeconds(n, 5, settings))).toEqual([
      30, 60, 120, 240, 480, 900, 900,
    ]);
  });
});

describe('secondsLocked', () => {
  const now = new Date('2026-01-01T00:01:00Z');
  const secondsAgo = (seconds: number) => new Date(now.getTime() - seconds * 1000);

  it('counts from the latest attempt', () => {
    const five = [10, 20, 30, 40, 50].map(secondsAgo);
    expect(secondsLocked(five, 5, settings, now)).toBe(20);
    expect(secondsLocked(five.slice(1), 5, settings, now)).toBe(0);
    expect(secondsLocked([], 5, settings, now)).toBe(0);
  });

  it('is nothing within the allowance, even when a concurrent attempt was filed after now', () => {
    const inAMoment = new Date(now.getTime() + 20);
    expect(secondsLocked([inAMoment, secondsAgo(1)], 5, settings, now)).toBe(0);
    expect(secondsLocked([inAMoment, ...[1, 2, 3, 4].map(secondsAgo)], 5, settings, now)).toBe(
      30.02,
    );
  });

  it('is over once the lockout has passed', () => {
    expect(secondsLocked([31, 32, 33, 34, 35].map(secondsAgo), 5, settings, now)).toBe(0);
  });
});

describe('addressBucket', () => {
  it('keeps an IPv4 address as it is', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
  });

  it('puts every address of an IPv6 /64 in one bucket, however it is written', () => {
    const bucket = '2001:db8:0:1::/64';
    expect(addressBucket('2001:db8:0:1::1')).toBe(bucket);
    expect(addressBucket('2001:0DB8:0000:0001:ffff:ffff:ffff:ffff')).toBe(bucket);
    expect(addressBucket('2001:db8:0:1:1:2:203.0.113.7')).toBe(bucket);
    expect(addressBucket('2001:db8:0:2::1')).not.toBe(bucket);
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('judging a key with attempts in flight', () => {
  const now = new Date('2026-01-01T00:10:00Z');
  const judged = { ...settings, windowSeconds: 900 };
  const ago = (ms: number) => new Date(now.getTime() - ms);
  /** An attempt in flight from `from` ms ago, claimed then, settled `to` ms ago (or pending). */
  const attempt = (
    seq: number,
    state: FiledAttempt['state'],
    from: number,
    to?: number,
  ): FiledAttempt => ({
    seq,
    at: ago(from),
    startedAt: ago(from),
    ...(state ? { state } : {}),
    ...(to === undefined ? {} : { settledAt: ago(to) }),
  });
  const judge = (attempts: FiledAttempt[], startedAt = now) =>
    judgeKey(attempts, 5, judged, { burst: burstStart(attempts, startedAt, now), now });

  it('lets an attempt in while failures and attempts in flight leave room, and says how much', () => {
    expect(judge([])).toEqual({ kind: 'claim', room: 5, seconds: 30 });
    const some = [attempt(2, 'pending', 100), attempt(1, undefined, 500, 400)];
    expect(judge(some)).toEqual({ kind: 'claim', room: 3, seconds: 30 });
  });

  it('refuses at once when settled failures alone lock the key', () => {
    const failures = [4, 3, 2, 1, 0].map((seq) => attempt(seq, undefined, 5_000 + seq, 4_000));
    expect(judge(failures)).toMatchObject({ kind: 'refuse' });
    // Attempts in flight cannot change that: they only make the promised lockout longer.
    const verdict = judge([attempt(5, 'pending', 100), ...failures]);
    expect(verdict.kind).toBe('refuse');
    expect(verdict.seconds).toBeGreaterThan(30);
  });

  it('waits, rather than refuse, when only attempts in flight would fill the allowance', () => {
    const inFlight = [4, 3, 2, 1, 0].map((seq) => attempt(seq, 'pending', 200 - seq));
    expect(judge(inFlight)).toMatchObject({ kind: 'wait', seconds: expect.closeTo(29.8, 1) });
    const mixed = [attempt(2, 'pending', 50), attempt(1, 'pending', 60), ...failuresOf(3)];
    expect(judge(mixed)).toMatchObject({ kind: 'wait' });
  });

  it('does not hold the right passwords of its own burst against an attempt', () => {
    // Five succeeded while this one waited for a slot: all in flight together.
    const burst = [4, 3, 2, 1, 0].map((seq) => attempt(seq, 'succeeded', 300, 100 + seq));
    expect(judge(burst, ago(250))).toMatchObject({ kind: 'claim', room: 5 });
    // One that arrived after they had ended is held to the burst by one still in flight with
    // both, which arrived with the five and claimed only now.
    const waited: FiledAttempt = { seq: 5, at: ago(80), startedAt: ago(250), state: 'pending' };
    const chained = [waited, ...burst];
    expect(judge(burst, ago(50))).toMatchObject({ kind: 'refuse' });
    expect(judge(chained, ago(50))).toMatchObject({ kind: 'claim', room: 4 });
  });

  it('holds right passwords against the attempts that come after their burst', () => {
    // Four failures and a right password, all over: the next attempt is locked out as after
    // five failures, so the lock does not tell whether the fifth guess was right.
    const done = [attempt(4, 'succeeded', 1_000, 900), ...failuresOf(4)];
    expect(judge(done)).toMatchObject({ kind: 'refuse', seconds: 29 });
    expect(judge(failuresOf(5))).toMatchObject({ kind: 'refuse' });
  });

  it('never lets a failure make room, in a burst or not', () => {
    const failed = [4, 3, 2, 1, 0].map((seq) => attempt(seq, undefined, 300, 100 + seq));
    expect(judge(failed, ago(250))).toMatchObject({ kind: 'refuse' });
  });

  it('counts for nothing what was withdrawn, and holds no burst together with it', () => {
    const withdrawn = [4, 3, 2, 1, 0].map((seq) => attempt(seq, 'withdrawn', 300, 290));
    expect(judge(withdrawn)).toMatchObject({ kind: 'claim', room: 5 });
    expect(burstStart(withdrawn, ago(295), now)).toEqual(ago(295));
  });

  it('counts a claim its attempt never settled as a failure once it is stale', () => {
    const stale = PENDING_EXPIRY_SECONDS * 1000 + 1;
    const crashed = [4, 3, 2, 1, 0].map((seq) => attempt(seq, 'pending', stale + 10 - seq));
    expect(standing(crashed[0] as FiledAttempt, now, now)).toBe('counts');
    // Locked as five failures would lock it, for the rest of their lockout, then let in.
    expect(judge(crashed)).toMatchObject({ kind: 'refuse', seconds: expect.closeTo(20, 0) });
    const later = new Date(now.getTime() + 25_000);
    expect(
      judgeKey(crashed, 5, judged, { burst: burstStart(crashed, later, later), now: later }),
    ).toMatchObject({ kind: 'claim', room: 1 });
  });

  /** `count` failures, settled some seconds ago, newest first. */
  function failuresOf(count: number): FiledAttempt[] {
    return Array.from({ length: count }, (_, i) =>
      attempt(count - 1 - i, undefined, 3_000 + i * 100, 2_900 + i * 100),
    );
  }
});
