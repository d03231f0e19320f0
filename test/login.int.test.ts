import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startGraph, type RunningGraph } from './graph.js';

let graph: RunningGraph;
beforeAll(async () => {
  graph = await startGraph('login');
});
afterAll(() => graph?.stop());

const LOGIN = `mutation ($u: String!, $p: String!) {
  login(username: $u, password: $p) { accessToken tokenType expiresIn user { id username role email } }
}`;

describe('login', () => {
  it('returns a signed access token for the seeded admin', async () => {
    const { status, body } = await graph.request(graph.routerUrl, LOGIN, {
      variables: { u: 'admin', p: 'a' },
    });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const login = body.data?.['login'] as Record<string, unknown> & {
      accessToken: string;
      user: Record<string, unknown>;
    };
    expect(login.tokenType).toBe('Bearer');
    expect(login.expiresIn).toBe(900);
    // AuthPayload.user counts as "self", so the admin sees their own email.
    expect(login.user).toMatchObject({
      username: 'admin',
      role: 'ADMIN',
      email: 'admin@example.com',
    });

    const header = decodeProtectedHeader(login.accessToken);
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: graph.signingKey.kid });
    const claims = decodeJwt(login.accessToken);
    expect(claims).toMatchObject({
      iss: graph.jwt.issuer,
      aud: graph.jwt.audience,
      sub: login.user['id'],
      role: 'ADMIN',
    });
    expect(claims.exp! - claims.iat!).toBe(900);
  });

  it('lets the token through the router: me', async () => {
    const { token, userId } = await graph.login('user', 'u');
    const { status, body } = await graph.request(graph.routerUrl, '{ me { id username role } }', {
      token,
    });
    expect(status).toBe(200);
    expect(body).toEqual({ data: { me: { id: userId, username: 'user', role: 'USER' } } });
  });

  it('gives a wrong password and an unknown user the same UNAUTHENTICATED error', async () => {
    const wrong = await graph.request(graph.routerUrl, LOGIN, {
      variables: { u: 'admin', p: 'not-the-password' },
    });
    const unknown = await graph.request(graph.routerUrl, LOGIN, {
      variables: { u: 'nobody-by-this-name', p: 'a' },
    });
    for (const response of [wrong, unknown]) {
      expect(response.status).toBe(200);
      expect(response.body.data).toBeNull();
      expect(response.body.errors).toHaveLength(1);
      expect(response.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    }
    expect(unknown.body.errors?.[0]?.message).toBe(wrong.body.errors?.[0]?.message);
    expect(JSON.stringify(wrong.body)).not.toMatch(/argon2|passwordHash/i);
  });
});
