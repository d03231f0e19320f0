import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Device tokens (OWASP's "device cookies", in a GraphQL API that sets no cookies): each
 * successful login hands the client a token that says "this device logged in as this username
 * before". A login that sends a valid one for its username is judged on that device's own
 * failures only, so strangers' failures (one address spraying passwords, five wrong guesses at
 * a username) never lock out a user on a device they have used before. A login without one is
 * judged on the username's and the address's counts. See loginThrottle.ts and the README.
 *
 * A token is `d1.<payload>.<mac>`: the payload (base64url JSON) names the username (as a hash)
 * and a random device id, and expires; the MAC is an HMAC-SHA256 with a key derived from the
 * identity signing secret, so any users replica can check it and nothing else can mint one.
 */
export interface DeviceTokens {
  issue(username: string, now?: Date): string;
  /** The device id, when `token` is one this service issued for `username` and it has not expired. */
  verify(token: string | null | undefined, username: string, now?: Date): string | null;
}

/** Longer tokens are not parsed at all: nothing this service issues comes near it. */
const MAX_TOKEN_LENGTH = 512;

export function createDeviceTokens({
  secret,
  ttlSeconds,
}: {
  /** The identity signing secret; the key is derived from it, for this use alone. */
  secret: string;
  ttlSeconds: number;
}): DeviceTokens {
  const key = Buffer.from(hkdfSync('sha256', secret, '', 'supergraph users device tokens', 32));
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest();
  const subject = (username: string) =>
    createHash('sha256').update(username).digest('base64url').slice(0, 22);

  return {
    issue(username, now = new Date()) {
      const payload = Buffer.from(
        JSON.stringify({
          u: subject(username),
          d: randomBytes(16).toString('base64url'),
          e: Math.floor(now.getTime() / 1000) + ttlSeconds,
        }),
      ).toString('base64url');
      return `d1.${payload}.${mac(payload).toString('base64url')}`;
    },

    verify(token, username, now = new Date()) {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null;
      const [version, payload, signature, ...rest] = token.split('.');
      if (version !== 'd1' || !payload || !signature || rest.length > 0) return null;
      const expected = mac(payload);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      let claims: unknown;
      try {
        claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        return null;
      }
      if (typeof claims !== 'object' || claims === null) return null;
      const u: unknown = Reflect.get(claims, 'u');
      const d: unknown = Reflect.get(claims, 'd');
      const e: unknown = Reflect.get(claims, 'e');
      if (u !== subject(username) || typeof d !== 'string' || typeof e !== 'number') return null;
      return e * 1000 > now.getTime() ? d : null;
    },
  };
}
