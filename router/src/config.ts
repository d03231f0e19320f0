import { resolve } from 'node:path';
import { z } from 'zod';
import {
  httpUrl,
  identitySigningSecret,
  parseEnv,
  port,
  positiveInt,
  serviceEnv,
  serviceSettings,
  type LogLevel,
} from '@supergraph/service-kit';
import { TRUSTED_DOCUMENT_MODES, type TrustedDocumentMode } from './operations/trustedDocuments.js';

/**
 * Defaults that match what the users subgraph issues; keep in sync with
 * subgraphs/users/src/config.ts (DEFAULT_JWT_ISSUER, DEFAULT_JWT_AUDIENCE).
 */
const DEFAULT_JWT_ISSUER = 'urn:supergraph:users';
const DEFAULT_JWT_AUDIENCE = 'supergraph';

/** The algorithms a token may be signed with. Never `none`, never HMAC: the router holds no shared JWT secret. */
const JwtAlgorithm = z.enum(['EdDSA', 'ES256', 'ES384', 'RS256', 'PS256']);

const booleanFlag = z.enum(['true', 'false']).transform((value) => value === 'true');

const Env = z.object({
  ...serviceEnv,
  ROUTER_PORT: port(4000),
  SUPERGRAPH_PATH: z
    .string()
    .default(new URL('../../supergraph.graphql', import.meta.url).pathname),
  // Override the routing URLs written in supergraph.graphql, e.g. `http://users:4001/graphql` in
  // docker-compose or the port-0 URLs of a test.
  USERS_URL: httpUrl.optional(),
  ORDERS_URL: httpUrl.optional(),
  JWKS_URL: httpUrl.default('http://localhost:4001/.well-known/jwks.json'),
  JWT_ISSUER: z.string().default(DEFAULT_JWT_ISSUER),
  JWT_AUDIENCE: z.string().default(DEFAULT_JWT_AUDIENCE),
  JWT_ALGORITHMS: z
    .string()
    .default('EdDSA,ES256')
    .transform((value) =>
      value
        .split(',')
        .map((alg) => alg.trim())
        .filter(Boolean),
    )
    .pipe(z.array(JwtAlgorithm).min(1)),
  // RFC 9068 access tokens say `typ: at+jwt`. Some identity providers send plain `JWT`; `*` accepts any.
  JWT_TYP: z.string().default('at+jwt'),
  JWT_ROLE_CLAIM: z.string().default('role'),
  JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  IDENTITY_SIGNING_SECRET: identitySigningSecret,
  SUBGRAPH_TIMEOUT_MS: positiveInt(5_000),
  // Trusted documents: see src/operations/trustedDocuments.ts. Defaults depend on NODE_ENV.
  PERSISTED_DOCUMENTS_MODE: z.enum(TRUSTED_DOCUMENT_MODES).optional(),
  PERSISTED_DOCUMENTS_PATH: z
    .string()
    .default(
      new URL('../../examples/web/src/gql/persisted-documents.json', import.meta.url).pathname,
    ),
  INTROSPECTION: booleanFlag.optional(),
  SANDBOX: booleanFlag.optional(),
  MAX_BODY_BYTES: positiveInt(100 * 1024),
});

export interface RouterConfig {
  readonly production: boolean;
  readonly logLevel: LogLevel;
  readonly host: string;
  readonly port: number;
  readonly supergraphPath: string;
  /** Routing URLs by subgraph name that replace the ones in the supergraph. */
  readonly subgraphUrls: Readonly<Record<string, string>>;
  readonly jwt: {
    readonly jwksUrl: string;
    readonly issuer: string;
    readonly audience: string;
    readonly algorithms: readonly z.infer<typeof JwtAlgorithm>[];
    /** The required `typ` header, or null to accept any. */
    readonly typ: string | null;
    readonly roleClaim: string;
    readonly clockToleranceSeconds: number;
  };
  readonly identity: { readonly secret: string };
  readonly subgraphTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly persistedDocuments: { readonly mode: TrustedDocumentMode; readonly path: string };
  /** Schema introspection: on in development, off in production unless INTROSPECTION=true. */
  readonly introspection: boolean;
  /** Apollo Sandbox at the router URL: on in development, off in production unless SANDBOX=true. */
  readonly sandbox: boolean;
}

/** Reads the router's configuration from the environment, once. */
export function loadRouterConfig(
  environment: Readonly<Record<string, string | undefined>> = process.env,
): RouterConfig {
  const env = parseEnv(Env, environment);
  const production = env.NODE_ENV === 'production';
  const introspection = env.INTROSPECTION ?? !production;
  const subgraphUrls: Record<string, string> = {};
  if (env.USERS_URL) subgraphUrls['users'] = env.USERS_URL;
  if (env.ORDERS_URL) subgraphUrls['orders'] = env.ORDERS_URL;
  return Object.freeze({
    ...serviceSettings(env),
    port: env.ROUTER_PORT,
    supergraphPath: resolve(env.SUPERGRAPH_PATH),
    subgraphUrls,
    jwt: {
      jwksUrl: env.JWKS_URL,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      algorithms: env.JWT_ALGORITHMS,
      typ: env.JWT_TYP === '*' ? null : env.JWT_TYP,
      roleClaim: env.JWT_ROLE_CLAIM,
      clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_SECONDS,
    },
    identity: { secret: env.IDENTITY_SIGNING_SECRET },
    subgraphTimeoutMs: env.SUBGRAPH_TIMEOUT_MS,
    maxBodyBytes: env.MAX_BODY_BYTES,
    persistedDocuments: {
      mode: env.PERSISTED_DOCUMENTS_MODE ?? (production ? 'enforce' : 'allow'),
      path: resolve(env.PERSISTED_DOCUMENTS_PATH),
    },
    introspection,
    // Sandbox explores the schema through introspection, so it needs it.
    sandbox: introspection && (env.SANDBOX ?? !production),
  });
}
