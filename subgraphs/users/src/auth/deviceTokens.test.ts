import { describe, expect, it } from 'vitest';
import { createDeviceTokens } from './deviceTokens.js';

const tokens = createDeviceTokens({ secret: 's'.repeat(64), ttlSeconds: 60 });
const now = new Date('2026-12-03T00:00:00Z');

describe('device tokens', () => {
  it('name a device, for the username they were issued to, until they expire', () => {
    const token = tokens.issue('alice', now);
    const device = tokens.verify(token, 'alice', now);
    expect(device).toMatch(/^[\w-]{22}$/);
    expect(tokens.verify(tokens.issue('alice', now), 'alice', now)).not.toBe(device);
    expect(tokens.verify(token, 'bob', now)).toBeNull();
    expect(tokens.verify(token, 'alice', new Date(now.getTime() + 61_000))).toBeNull();
  });

  it('are worth nothing altered, made with another secret, or malformed', () => {
    const token = tokens.issue('alice', now);
    const [version, payload = '', mac = ''] = token.split('.');
    const otherSecret = createDeviceTokens({ secret: 't'.repeat(64), ttlSeconds: 60 });
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), e: 9e9 }),
    ).toString('base64url');
    for (const bad of [
      `${version}.${forgedPayload}.${mac}`,
      `${version}.${payload}.${mac.slice(0, -2)}`,
      `${token}.extra`,
      `d2.${payload}.${mac}`,
      otherSecret.issue('alice', now),
      '',
      'x'.repeat(100_000),
      null,
      undefined,
    ]) {
      expect(tokens.verify(bad, 'alice', now)).toBeNull();
    }
  });
});
