import { describe, expect, it } from 'vitest';
import { ConfigError } from '@supergraph/service-kit';
import { loadUsersConfig } from './config.js';

const required = {
  MONGODB_URI: 'mongodb://127.0.0.1:27017/',
  IDENTITY_SIGNING_SECRET: 'k'.repeat(64),
};

describe('loadUsersConfig', () => {
  it('seeds the demo accounts with the demo passwords in development', () => {
    const config = loadUsersConfig(required);
    expect(config.production).toBe(false);
    expect(
      config.seeds.map(({ username, password, role }) => ({ username, password, role })),
    ).toEqual([
      { username: 'admin', password: 'a', role: 'ADMIN' },
      { username: 'user', password: 'u', role: 'USER' },
    ]);
    expect(config.jwt).toMatchObject({
      alg: 'EdDSA',
      ttlSeconds: 900,
      issuer: 'urn:supergraph:users',
      audience: 'supergraph',
    });
    expect(config).toMatchObject({ port: 4001, host: '127.0.0.1', database: 'users' });
  });

  it('has refresh tokens for 30 days, and throttles logins at 5 per username, 20 failures and 100 logins per address', () => {
    const config = loadUsersConfig(required);
    expect(config.jwt.refreshTtlSeconds).toBe(30 * 24 * 60 * 60);
    expect(config.jwt.previousPublicKeyPem).toBeUndefined();
    expect(config.loginThrottle).toEqual({
      maxFailuresPerUsername: 5,
      maxFailuresPerIp: 20,
      maxLoginsPerIp: 100,
      windowSeconds: 900,
      lockoutSeconds: 30,
      maxLockoutSeconds: 900,
    });
    expect(config.deviceTokenTtlSeconds).toBe(30 * 24 * 60 * 60);
    // A handful of password checks per process at once, and a short queue: see auth/passwords.ts.
    expect(config.passwordHashing.maxQueued).toBe(16);
    expect(config.passwordHashing.maxConcurrent).toBeGreaterThanOrEqual(1);
  });

  it('refuses a throttling window shorter than the longest lockout, which would cut it short', () => {
    expect(() =>
      loadUsersConfig({
        ...required,
        LOGIN_FAILURE_WINDOW_SECONDS: '60',
        LOGIN_MAX_LOCKOUT_SECONDS: '120',
      }),
    ).toThrow(/LOGIN_FAILURE_WINDOW_SECONDS: must be at least LOGIN_MAX_LOCKOUT_SECONDS/);
    expect(() =>
      loadUsersConfig({
        ...required,
        LOGIN_LOCKOUT_SECONDS: '60',
        LOGIN_MAX_LOCKOUT_SECONDS: '30',
      }),
    ).toThrow(/LOGIN_MAX_LOCKOUT_SECONDS: must be at least LOGIN_LOCKOUT_SECONDS/);
  });

  it('requires JWT_PRIVATE_KEY in production', () => {
    expect(() => loadUsersConfig({ ...required, NODE_ENV: 'production' })).toThrow(
      /JWT_PRIVATE_KEY: is required/,
    );
  });

  it('never seeds the demo passwords in production: only the accounts whose password is set', () => {
    const production = { ...required, NODE_ENV: 'production', JWT_PRIVATE_KEY: 'pem' };
    expect(loadUsersConfig(production).seeds).toEqual([]);
    const seeds = loadUsersConfig({ ...production, SEED_ADMIN_PASSWORD: 'a-real-secret' }).seeds;
    expect(seeds.map((seed) => [seed.username, seed.password])).toEqual([
      ['admin', 'a-real-secret'],
    ]);
  });

  it('names every variable at fault, and treats an empty one as unset', () => {
    let error: unknown;
    try {
      loadUsersConfig({
        MONGODB_URI: 'postgres://nope',
        IDENTITY_SIGNING_SECRET: 'short',
        USERS_PORT: '',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/MONGODB_URI: must be a mongodb:\/\//);
    expect(String(error)).toMatch(/IDENTITY_SIGNING_SECRET: must be at least 32 characters/);
    expect(String(error)).not.toMatch(/USERS_PORT/);
  });
});
