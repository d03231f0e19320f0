import { HeaderMap } from '@apollo/server';
import { describe, expect, it } from 'vitest';
import { clientIpOf, normalizeIp } from './clientIp.js';

function request(remoteAddress: string | undefined, forwardedFor?: string) {
  const headers = new HeaderMap();
  if (forwardedFor !== undefined) headers.set('x-forwarded-for', forwardedFor);
  return { headers, remoteAddress };
}

describe('clientIpOf', () => {
  it('takes the socket peer and ignores X-Forwarded-For when no proxy is trusted', () => {
    // Otherwise a client would pick a fresh address, and a fresh login-throttling bucket, per request.
    expect(clientIpOf(request('198.51.100.9', '203.0.113.7'), 0)).toBe('198.51.100.9');
  });

  it('behind one proxy, takes the entry that proxy appended, not what the client sent before it', () => {
    expect(clientIpOf(request('10.0.0.2', '203.0.113.7'), 1)).toBe('203.0.113.7');
    expect(clientIpOf(request('10.0.0.2', '1.1.1.1, 2.2.2.2, 203.0.113.7'), 1)).toBe('203.0.113.7');
  });

  it('behind two proxies, counts two hops from the right', () => {
    expect(clientIpOf(request('10.0.0.2', 'spoofed, 203.0.113.7, 10.0.0.1'), 2)).toBe(
      '203.0.113.7',
    );
  });

  it('takes the leftmost entry when there are fewer entries than hops, and the peer when none', () => {
    expect(clientIpOf(request('10.0.0.2', '203.0.113.7'), 3)).toBe('203.0.113.7');
    expect(clientIpOf(request('10.0.0.2'), 1)).toBe('10.0.0.2');
    expect(clientIpOf(request('10.0.0.2', ' , '), 1)).toBe('10.0.0.2');
  });

  it('falls back to the peer when the chosen entry is not an address', () => {
    expect(clientIpOf(request('10.0.0.2', 'not-an-ip'), 1)).toBe('10.0.0.2');
  });

  it('is null without a socket address', () => {
    expect(clientIpOf(request(undefined), 0)).toBeNull();
  });
});

describe('normalizeIp', () => {
  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['203.0.113.7:4711', '203.0.113.7'],
    ['[2001:DB8::1]:443', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['127.0.0.1', '127.0.0.1'],
    ['localhost', null],
    ['', null],
  ])('%j is %j', (raw, expected) => {
    expect(normalizeIp(raw)).toBe(expected);
  });
});
