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
    expect(result).toMatchObject({
      ok: true,
      identity: { id: 'u1', role: 'ADMIN', scopes: ['admin'] },
    });
  });

  it('round-trips the scopes a token granted, on top of the role’s', () => {
    const result = verifyRequest({
      secret,
      audience: 'users',
      header: headersFor(signed('u1', 'USER', { scopes: 'orders:read reports' })),
      body,
      now,
    });
    expect(result).toMatchObject({
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
    expect(result).toMatchObject({ ok: true, identity: null });
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

  it('refuses a timestamp more than IDENTITY_MAX_SKEW_SECONDS (10 by default) away', () => {
    expect(
      verifyRequest({
        secret,
        audience: 'users',
        header: headersFor(signed('u1', 'USER', { at: now - 11 })),
        body,
        now,
      }),
    ).toEqual({ ok: false, reason: 'stale' });
    expect(
      verifyRequest({
        secret,
        audience: 'users',
        header: headersFor(signed('u1', 'USER', { at: now + 11 })),
        body,
        now,
      }),
    ).toEqual({ ok: false, reason: 'stale' });
    expect(
      verifyRequest({
        secret,
        audience: 'users',
        header: headersFor(signed('u1', 'USER', { at: now - 10 })),
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
    ).toMatchObject({ ok: true, identity: null, clientIp: '203.0.113.7' });
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

describe('the request id', () => {
  const verify = (headers: Record<string, string | readonly string[]>) =>
    verifyRequest({
      secret,
      audience: 'users',
      header: (name) => headers[name],
      body,
      now,
    });

  it('is 128 random bits in base64url, new for every request, and returned with the signed timestamp', () => {
    const first = signed('u1', 'USER');
    const second = signed('u1', 'USER');
    expect(first[IDENTITY_HEADERS.requestId]).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(second[IDENTITY_HEADERS.requestId]).not.toBe(first[IDENTITY_HEADERS.requestId]);
    expect(verify(first)).toMatchObject({
      ok: true,
      requestId: first[IDENTITY_HEADERS.requestId],
      timestamp: now,
    });
  });

  it('is covered by the signature: another valid id, or none, is refused', () => {
    const headers = signed('u1', 'USER');
    const { [IDENTITY_HEADERS.requestId]: _id, ...withoutId } = headers;
    expect(verify({ ...headers, [IDENTITY_HEADERS.requestId]: 'A'.repeat(22) })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verify(withoutId)).toEqual({ ok: false, reason: 'missing' });
  });
});

describe('the identity headers are parsed strictly', () => {
  const verify = (headers: Record<string, string | readonly string[]>) =>
    verifyRequest({
      secret,
      audience: 'users',
      header: (name) => headers[name],
      body,
      now,
    });
  const base = () => signed('u1', 'USER', { scopes: 'reports' });
  const expectMalformed = (headers: Record<string, string | readonly string[]>) =>
    expect(verify(headers)).toEqual({ ok: false, reason: 'malformed' });

  it('accepts exactly what signRequest makes, once each (the control for the cases below)', () => {
    const headers = base();
    expect(verify(headers).ok).toBe(true);
    const asArrays = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
    expect(verify(asArrays).ok).toBe(true);
  });

  it('refuses trailing bytes after a valid signature', () => {
    const headers = base();
    const signature = headers[IDENTITY_HEADERS.signature] ?? '';
    for (const tail of ['0', 'zz', ' ', ', v3=' + '0'.repeat(64), '\t']) {
      expectMalformed({ ...headers, [IDENTITY_HEADERS.signature]: signature + tail });
    }
  });

  it('refuses a signature of the wrong length, case or version', () => {
    const headers = base();
    const hex = (headers[IDENTITY_HEADERS.signature] ?? '').slice('v3='.length);
    for (const signature of [
      `v3=${hex.slice(0, 62)}`,
      `v3=${hex.toUpperCase()}`,
      `V3=${hex}`,
      `v2=${hex}`,
      ` v3=${hex}`,
      `v3=`,
    ]) {
      expectMalformed({ ...headers, [IDENTITY_HEADERS.signature]: signature });
    }
  });

  it('refuses a timestamp or request id that is not in its exact form', () => {
    const headers = base();
    const id = headers[IDENTITY_HEADERS.requestId] ?? '';
    for (const timestamp of [`0${now}`, `${now}.0`, `+${now}`, `${now} `, '1e9', '']) {
      expectMalformed({ ...headers, [IDENTITY_HEADERS.timestamp]: timestamp });
    }
    for (const requestId of [`${id}=`, id.slice(1), `${id}A`, `${id.slice(1)}+`, `${id} `, '']) {
      expectMalformed({ ...headers, [IDENTITY_HEADERS.requestId]: requestId });
    }
  });

  it.each(Object.entries(IDENTITY_HEADERS))('refuses a second %s header (%s)', (_, name) => {
    const headers = base();
    const value = headers[name] ?? 'extra';
    expectMalformed({ ...headers, [name]: [value, value] });
  });
});
