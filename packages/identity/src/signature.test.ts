import { describe, expect, it } from 'vitest';
import { IDENTITY_HEADERS, signRequest, verifyRequest } from './index.js';

const secret = 'test-secret-test-secret-test-secret-0123';
const body = '{"query":"{ me { id } }"}';
const now = 1_800_000_000;

function headersFor(extra: Record<string, string>) {
  const all = new Map(Object.entries(extra).map(([k, v]) => [k.toLowerCase(), v]));
  return (name: string) => all.get(name);
}

function signed(
  userId: string | undefined,
  role: string | undefined,
  opts: { audience?: string; at?: number; scopes?: string } = {},
) {
  const identity: Record<string, string> = {};
  if (userId !== undefined) identity[IDENTITY_HEADERS.userId] = userId;
  if (role !== undefined) identity[IDENTITY_HEADERS.role] = role;
  if (opts.scopes !== undefined) identity[IDENTITY_HEADERS.scopes] = opts.scopes;
  return {
    ...identity,
    ...signRequest({
      secret,
      audience: opts.audience ?? 'users',
      userId,
      role,
      scopes: opts.scopes,
      body,
      now: opts.at ?? now,
    }),
  };
}

describe('signed identity headers', () => {
  it('round-trips an authenticated identity with its scopes', () => {
    const result = verifyRequest({
      secret,
      audience: 'users',
      header: headersFor(signed('u1', 'ADMIN')),
      body,
      now,
    });
    expect(result).toEqual({ ok: true, identity: { id: 'u1', role: 'ADMIN', scopes: ['admin'] } });
  });

  it('round-trips the scopes a token granted, on top of the role’s', () => {
    const result = verifyRequest({
      secret,
      audience: 'users',
      header: headersFor(signed('u1', 'USER', { scopes: 'orders:read reports' })),
      body,
      now,
    });
    expect(result).toEqual({
      ok: true,
      identity: { id: 'u1', role: 'USER', scopes: ['orders:read', 'reports'] },
    });
  });

  it('carries a full scope claim and the role’s scopes on top', () => {
    const claimed = Array.from({ length: 64 }, (_, i) => `s${i}`);
    const result = verifyRequest({
      secret,
      audience: 'users',
      header: headersFor(signed('u1', 'ADMIN', { scopes: ['admin', ...claimed].join(' ') })),
      body,
      now,
    });
    expect(result.ok && result.identity?.scopes).toHaveLength(65);
  });

  it('refuses scopes added or changed under a valid signature, and malformed ones', () => {
    const verify = (headers: Record<string, string>) =>
      verifyRequest({ secret, audience: 'users', header: headersFor(headers), body, now });
    expect(verify({ ...signed('u1', 'USER'), [IDENTITY_HEADERS.scopes]: 'admin' })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(
      verify({
        ...signed('u1', 'USER', { scopes: 'reports' }),
        [IDENTITY_HEADERS.scopes]: 'admin',
      }),
    ).toEqual({ ok: false, reason: 'mismatch' });
    // Signed, but no caller to hold them, or not scopes at all.
    expect(verify(signed(undefined, undefined, { scopes: 'admin' }))).toEqual({
      ok: false,
      reason: 'bad-identity',
    });
    expect(verify(signed('u1', 'USER', { scopes: 'a "quoted" scope' }))).toEqual({
      ok: false,
      reason: 'bad-identity',
    });
  });

  it('round-trips an anonymous request as a null identity', () => {
    const result = verifyRequest({
      secret,
      audience: 'users',
      header: headersFor(signed(undefined, undefined)),
      body,
      now,
    });
    expect(result).toEqual({ ok: true, identity: null });
  });

  it('refuses a request with no signature, even with identity headers', () => {
    const result = verifyRequest({
      secret,
      audience: 'users',
      header: headersFor({ [IDENTITY_HEADERS.userId]: 'u1', [IDENTITY_HEADERS.role]: 'ADMIN' }),
      body,
      now,
    });
    expect(result).toEqual({ ok: false, reason: 'missing' });
  });

  it('refuses a forged user id or an elevated role under a valid signature', () => {
    const forgedId = { ...signed('u1', 'USER'), [IDENTITY_HEADERS.userId]: 'u2' };
    const elevated = { ...signed('u1', 'USER'), [IDENTITY_HEADERS.role]: 'ADMIN' };
    const anonymousMadeAdmin = {
      ...signed(undefined, undefined),
      [IDENTITY_HEADERS.userId]: 'u1',
      [IDENTITY_HEADERS.role]: 'ADMIN',
    };
    for (const headers of [forgedId, elevated, anonymousMadeAdmin]) {
      expect(
        verifyRequest({ secret, audience: 'users', header: headersFor(headers), body, now }),
      ).toEqual({ ok: false, reason: 'mismatch' });
    }
  });

  it('refuses a changed body, another audience, or another secret', () => {
    const headers = headersFor(signed('u1', 'USER'));
    expect(
      verifyRequest({ secret, audience: 'users', header: headers, body: body + ' ', now }).ok,
    ).toBe(false);
    expect(verifyRequest({ secret, audience: 'orders', header: headers, body, now }).ok).toBe(
      false,
    );
    expect(
      verifyRequest({ secret: secret + 'x', audience: 'users', header: headers, body, now }).ok,
    ).toBe(false);
  });

  it('refuses a stale or future timestamp', () => {
    expect(
      verifyRequest({
        secret,
        audience: 'users',
        header: headersFor(signed('u1', 'USER', { at: now - 31 })),
        body,
        now,
      }),
    ).toEqual({ ok: false, reason: 'stale' });
    expect(
      verifyRequest({
        secret,
        audience: 'users',
        header: headersFor(signed('u1', 'USER', { at: now + 31 })),
        body,
        now,
      }),
    ).toEqual({ ok: false, reason: 'stale' });
    expect(
      verifyRequest({
        secret,
        audience: 'users',
        header: headersFor(signed('u1', 'USER', { at: now - 30 })),
        body,
        now,
      }).ok,
    ).toBe(true);
  });

  it('refuses malformed signatures and unknown roles without throwing', () => {
    const base = signed('u1', 'USER');
    const cases = [
      { ...base, [IDENTITY_HEADERS.signature]: 'v2=zz' },
      { ...base, [IDENTITY_HEADERS.signature]: 'v1=' + 'a'.repeat(64) },
      { ...base, [IDENTITY_HEADERS.timestamp]: 'yesterday' },
    ];
    for (const headers of cases) {
      expect(
        verifyRequest({ secret, audience: 'users', header: headersFor(headers), body, now }).ok,
      ).toBe(false);
    }
    expect(
      verifyRequest({
        secret,
        audience: 'users',
        header: headersFor(signed('u1', 'ROOT')),
        body,
        now,
      }),
    ).toEqual({ ok: false, reason: 'bad-identity' });
    expect(
      verifyRequest({
        secret,
        audience: 'users',
        header: headersFor(signed('u1', undefined)),
        body,
        now,
      }),
    ).toEqual({ ok: false, reason: 'bad-identity' });
  });
});

describe('the signed client address', () => {
  const withIp = (clientIp: string | undefined, userId?: string, role?: string) => ({
    ...(clientIp === undefined ? {} : { [IDENTITY_HEADERS.clientIp]: clientIp }),
    ...(userId === undefined ? {} : { [IDENTITY_HEADERS.userId]: userId }),
    ...(role === undefined ? {} : { [IDENTITY_HEADERS.role]: role }),
    ...signRequest({ secret, audience: 'users', userId, role, clientIp, body, now }),
  });

  it('round-trips for an anonymous caller and for a logged-in one', () => {
    expect(
      verifyRequest({
        secret,
        audience: 'users',
        header: headersFor(withIp('203.0.113.7')),
        body,
        now,
      }),
    ).toEqual({ ok: true, identity: null, clientIp: '203.0.113.7' });
    expect(
      verifyRequest({
        secret,
        audience: 'users',
        header: headersFor(withIp('2001:db8::1', 'u1', 'USER')),
        body,
        now,
      }),
    ).toMatchObject({ ok: true, identity: { id: 'u1', role: 'USER' }, clientIp: '2001:db8::1' });
  });

  it('is undefined when the router sent none', () => {
    const result = verifyRequest({
      secret,
      audience: 'users',
      header: headersFor(withIp(undefined)),
      body,
      now,
    });
    expect(result.ok && result.clientIp).toBeUndefined();
  });

  it('refuses a changed, added or removed client address under a valid signature', () => {
    // A caller who could rewrite the address would get a fresh login-throttling bucket per request.
    const changed = { ...withIp('203.0.113.7'), [IDENTITY_HEADERS.clientIp]: '198.51.100.1' };
    const added = { ...withIp(undefined), [IDENTITY_HEADERS.clientIp]: '198.51.100.1' };
    const { [IDENTITY_HEADERS.clientIp]: _removed, ...removed } = withIp('203.0.113.7');
    const loggedIn = {
      ...withIp('203.0.113.7', 'u1', 'USER'),
      [IDENTITY_HEADERS.clientIp]: '203.0.113.8',
    };
    for (const headers of [changed, added, removed, loggedIn]) {
      expect(
        verifyRequest({ secret, audience: 'users', header: headersFor(headers), body, now }),
      ).toEqual({ ok: false, reason: 'mismatch' });
    }
  });
});
