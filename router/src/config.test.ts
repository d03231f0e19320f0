import { describe, expect, it } from 'vitest';
import { loadRouterConfig } from './config.js';

const required = { IDENTITY_SIGNING_SECRET: 'k'.repeat(64) };

describe('loadRouterConfig', () => {
  it('defaults to the users subgraph as the token issuer, with asymmetric algorithms only', () => {
    const config = loadRouterConfig(required);
    expect(config.jwt).toEqual({
      jwksUrl: 'http://localhost:4001/.well-known/jwks.json',
      issuer: 'urn:supergraph:users',
      audience: 'supergraph',
      algorithms: ['EdDSA', 'ES256'],
      typ: 'at+jwt',
      roleClaim: 'role',
      scopeClaim: 'scope',
      clockToleranceSeconds: 5,
      maxAgeSeconds: 3600,
      jwksCooldownSeconds: 30,
    });
    // X-Forwarded-For is the client's to write unless a proxy is declared.
    expect(config.trustedProxyHops).toBe(0);
    expect(config.supergraphPath).toMatch(/supergraph\.graphql$/);
    expect(config.subgraphUrls).toEqual({});
  });

  it.each(['none', 'HS256', 'EdDSA,HS512'])('refuses JWT_ALGORITHMS=%s', (algorithms) => {
    expect(() => loadRouterConfig({ ...required, JWT_ALGORITHMS: algorithms })).toThrow(
      /JWT_ALGORITHMS/,
    );
  });

  it('takes an external identity provider', () => {
    const config = loadRouterConfig({
      ...required,
      JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
      JWT_ISSUER: 'https://id.example.com/',
      JWT_ALGORITHMS: 'RS256',
      JWT_TYP: '*',
    });
    expect(config.jwt).toMatchObject({
      issuer: 'https://id.example.com/',
      algorithms: ['RS256'],
      typ: null,
    });
  });

  it('requires the identity signing secret', () => {
    expect(() => loadRouterConfig({})).toThrow(/IDENTITY_SIGNING_SECRET: is required/);
  });

  it('locks down production: trusted documents enforced, no introspection, no Sandbox', () => {
    const config = loadRouterConfig({ ...required, NODE_ENV: 'production' });
    expect(config.persistedDocuments.mode).toBe('enforce');
    expect(config.persistedDocuments.path).toMatch(
      /examples\/web\/src\/gql\/persisted-documents\.json$/,
    );
    expect(config).toMatchObject({ introspection: false, sandbox: false });
  });

  it('keeps development open, and lets production opt in to Sandbox with introspection only', () => {
    expect(loadRouterConfig(required)).toMatchObject({
      introspection: true,
      sandbox: true,
      persistedDocuments: { mode: 'allow' },
    });
    const production = { ...required, NODE_ENV: 'production' };
    expect(loadRouterConfig({ ...production, SANDBOX: 'true' })).toMatchObject({ sandbox: false });
    expect(
      loadRouterConfig({ ...production, SANDBOX: 'true', INTROSPECTION: 'true' }),
    ).toMatchObject({ sandbox: true });
  });

  it('lets the example web app call from its dev server in development, and no page in production', () => {
    expect(loadRouterConfig(required).cors).toEqual({
      origins: ['http://localhost:5173'],
      allowCredentials: false,
    });
    expect(loadRouterConfig({ ...required, NODE_ENV: 'production' }).cors).toEqual({
      origins: [],
      allowCredentials: false,
    });
    expect(
      loadRouterConfig({
        ...required,
        NODE_ENV: 'production',
        CORS_ORIGINS: ' https://app.example.com, http://localhost:3000 ,',
        CORS_ALLOW_CREDENTIALS: 'true',
      }).cors,
    ).toEqual({
      origins: ['https://app.example.com', 'http://localhost:3000'],
      allowCredentials: true,
    });
  });

  // Each of these would never equal an Origin header, so it would allow nothing, silently.
  it.each([
    'https://app.example.com/',
    'https://app.example.com/app',
    'HTTPS://App.example.com',
    'https://app.example.com:443',
    'app.example.com',
    '*',
    'null',
    'https://app.example.com,*',
  ])('refuses CORS_ORIGINS=%s, naming the variable and the value', (origins) => {
    expect(() => loadRouterConfig({ ...required, CORS_ORIGINS: origins })).toThrow(
      /CORS_ORIGINS\.\d+: ".*" is not an origin/,
    );
  });

  it("trusts a client's x-request-id only when TRUST_REQUEST_ID=true", () => {
    expect(loadRouterConfig(required).trustRequestId).toBe(false);
    expect(loadRouterConfig({ ...required, TRUST_REQUEST_ID: 'true' }).trustRequestId).toBe(true);
    expect(() => loadRouterConfig({ ...required, TRUST_REQUEST_ID: 'yes' })).toThrow(
      /TRUST_REQUEST_ID/,
    );
  });

  it('refuses a CORS_ALLOW_CREDENTIALS that is not true or false', () => {
    expect(() => loadRouterConfig({ ...required, CORS_ALLOW_CREDENTIALS: 'yes' })).toThrow(
      /CORS_ALLOW_CREDENTIALS/,
    );
  });

  it('sends nothing to Apollo unless APOLLO_TELEMETRY_DISABLED is false, in any mode', () => {
    expect(loadRouterConfig(required).apolloTelemetry).toBe(false);
    expect(loadRouterConfig({ ...required, NODE_ENV: 'production' }).apolloTelemetry).toBe(false);
    expect(loadRouterConfig({ ...required, APOLLO_TELEMETRY_DISABLED: '1' }).apolloTelemetry).toBe(
      false,
    );
    expect(
      loadRouterConfig({ ...required, APOLLO_TELEMETRY_DISABLED: 'false' }).apolloTelemetry,
    ).toBe(true);
    expect(() => loadRouterConfig({ ...required, APOLLO_TELEMETRY_DISABLED: 'yes' })).toThrow(
      /APOLLO_TELEMETRY_DISABLED/,
    );
  });

  it('filters by default, as Apollo Router does, and takes Router’s authorization options', () => {
    expect(loadRouterConfig(required).authorization).toEqual({
      rejectUnauthorized: false,
      dryRun: false,
      errors: 'errors',
      log: true,
    });
    expect(
      loadRouterConfig({
        ...required,
        AUTHORIZATION_REJECT_UNAUTHORIZED: 'true',
        AUTHORIZATION_DRY_RUN: 'true',
        AUTHORIZATION_ERRORS: 'extensions',
        AUTHORIZATION_LOG: 'false',
      }).authorization,
    ).toEqual({ rejectUnauthorized: true, dryRun: true, errors: 'extensions', log: false });
  });

  it.each([
    ['AUTHORIZATION_ERRORS', 'response'],
    ['AUTHORIZATION_REJECT_UNAUTHORIZED', 'yes'],
    ['AUTHORIZATION_DRY_RUN', '1'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadRouterConfig({ ...required, [name]: value })).toThrow(new RegExp(name));
  });
});
