import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CORS_MAX_AGE_SECONDS, decideCors, type CorsPolicy } from './cors.js';

const APP = 'https://app.example.com';
const policy: CorsPolicy = { origins: [APP, 'http://localhost:5173'], allowCredentials: false };

/** The headers a browser sends in the preflight of a POST with a JSON body and a token. */
const preflightFrom = (origin: string) => ({
  origin,
  'access-control-request-method': 'POST',
  'access-control-request-headers': 'authorization,content-type',
});

describe('decideCors', () => {
  it('answers the preflight of a listed origin with that origin, the methods, headers and max age', () => {
    expect(decideCors(policy, 'OPTIONS', preflightFrom(APP))).toEqual({
      kind: 'preflight',
      headers: {
        vary: 'Origin',
        'access-control-allow-origin': APP,
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers':
          'content-type, authorization, accept, apollo-require-preflight, x-apollo-operation-name',
        'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
      },
    });
  });

  it('lets a listed origin read the answer to its request, whatever the method', () => {
    for (const method of ['POST', 'GET']) {
      expect(decideCors(policy, method, { origin: 'http://localhost:5173' })).toEqual({
        kind: 'request',
        headers: { vary: 'Origin', 'access-control-allow-origin': 'http://localhost:5173' },
      });
    }
  });

  it('allows credentials only when the policy says so', () => {
    const credentialed = { ...policy, allowCredentials: true };
    expect(decideCors(credentialed, 'OPTIONS', preflightFrom(APP)).headers).toMatchObject({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
    });
    expect(decideCors(credentialed, 'POST', { origin: APP }).headers).toMatchObject({
      'access-control-allow-credentials': 'true',
    });
    expect(decideCors(credentialed, 'POST', { origin: 'https://evil.example' }).headers).toEqual({
      vary: 'Origin',
    });
    expect(decideCors(policy, 'POST', { origin: APP }).headers).not.toHaveProperty(
      'access-control-allow-credentials',
    );
  });

  it.each([
    'https://evil.example',
    'https://app.example.com.evil.example',
    'https://evilapp.example.com',
    'http://app.example.com',
    'https://app.example.com:8443',
    'https://app.example.com/',
    'HTTPS://APP.EXAMPLE.COM',
    'null',
    '',
  ])('refuses the preflight of %j and gives its requests no permission', (origin) => {
    expect(decideCors(policy, 'OPTIONS', preflightFrom(origin))).toEqual({
      kind: 'refused',
      headers: { vary: 'Origin' },
    });
    expect(decideCors(policy, 'POST', { origin })).toEqual({
      kind: 'request',
      headers: { vary: 'Origin' },
    });
  });

  it('varies by Origin on requests without one, and leaves an OPTIONS that is no preflight alone', () => {
    expect(decideCors(policy, 'POST', {})).toEqual({
      kind: 'request',
      headers: { vary: 'Origin' },
    });
    // No Access-Control-Request-Method: not a preflight, so the usual handling answers it.
    expect(decideCors(policy, 'OPTIONS', { origin: APP }).kind).toBe('request');
    expect(decideCors(policy, 'OPTIONS', { 'access-control-request-method': 'POST' }).kind).toBe(
      'request',
    );
  });

  it('with an empty list, sends no CORS header at all and refuses every preflight', () => {
    const none: CorsPolicy = { origins: [], allowCredentials: true };
    expect(decideCors(none, 'OPTIONS', preflightFrom(APP))).toEqual({
      kind: 'refused',
      headers: {},
    });
    expect(decideCors(none, 'POST', { origin: APP })).toEqual({ kind: 'request', headers: {} });
  });

  it('never allows an origin that is not on the list, nor anything but the exact origin', () => {
    const origins = fc.oneof(
      fc.webUrl().map((url) => new URL(url).origin),
      fc.string(),
      fc
        .constantFrom(...policy.origins)
        .chain((listed) => fc.string({ maxLength: 3 }).map((noise) => listed + noise)),
      fc.constantFrom(...policy.origins),
    );
    fc.assert(
      fc.property(origins, fc.constantFrom('OPTIONS', 'POST', 'GET'), (origin, method) => {
        const { headers } = decideCors(policy, method, preflightFrom(origin));
        const allowed = headers['access-control-allow-origin'];
        expect(
          allowed === undefined || (allowed === origin && policy.origins.includes(origin)),
        ).toBe(true);
        expect(headers['access-control-allow-credentials']).toBeUndefined();
      }),
    );
  });
});
