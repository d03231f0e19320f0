import { describe, expect, it } from 'vitest';
import { addressBucket, lockoutSeconds, secondsLocked } from './loginThrottle.js';

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
