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
import type { AuthorizationOptions } from './authorization/AuthorizingGateway.js';
import { AUTHORIZATION_ERRORS_IN } from './authorization/completeResponse.js';
import type { CorsPolicy } from './cors.js';
import type { OperationLimits } from './operations/limits.js';
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

/**
 * Where the example web app runs under `npm run web`: Vite's default port, which
 * examples/web/vite.config.ts keeps.
 */
const DEVELOPMENT_CORS_ORIGINS = ['http://localhost:5173'];

// An origin as a browser writes it in the Origin header, and CORS compares it: byte for byte. A
// trailing slash, a path, a default port or upper case would never match, so they are refused
// here rather than silently never allowing anything; so are `*` and `null`.
const corsOrigin = z
  .string()
  .refine((value) => URL.canParse(value) && new URL(value).origin === value, {
    error: (issue) =>
      `${JSON.stringify(issue.input)} is not an origin: write scheme, host and port only, as in http://localhost:5173`,
  });

// @apollo/gateway's own variable, read with the opposite default: the gateway's usage metrics
// (cloud metadata probes, an hourly export to Apollo) run only for an operator who sets `false`.
const apolloTelemetryDisabled = z
  .enum(['true', 'false', '1', '0'])
  .default('true')
  .transform((value) => value === 'true' || value === '1');

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
  // OAuth's `scope` (RFC 9068): space-separated. Some providers use `scp`, an array; both are read.
  JWT_SCOPE_CLAIM: z.string().min(1).default('scope'),
  JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  // The oldest an access token may be, by its `iat`, whatever its `exp` says: a token minted for
  // ten years (a leaked key, a misconfigured issuer) still dies within this. Keep it at least
  // the users subgraph's JWT_TTL_SECONDS, or your identity provider's access token lifetime.
  JWT_MAX_AGE_SECONDS: positiveInt(60 * 60),
  // How long after fetching the JWKS the router waits before fetching it again for a token with
  // an unknown `kid` (jose's cooldown). It stops tokens with made-up kids from making the router
  // hammer the key server; the README's key rotation procedure makes it irrelevant.
  JWKS_COOLDOWN_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  // Where the access token revocations are (see auth/revocations.ts): by default the users
  // subgraph's, at the origin of its routing URL. `off` for an identity provider that revokes
  // nothing the router could ask about.
  REVOCATIONS_URL: z.union([z.literal('off'), httpUrl]).optional(),
  // How old the router's copy of the revocation list may be: a logout takes this long, at most,
  // to reach every router.
  REVOCATION_REFRESH_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
  // Reverse proxies in front of the router that append to X-Forwarded-For; see identity/clientIp.ts.
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  // Whether a client's x-request-id becomes the request's id in every service's log; only behind
  // a proxy that sets it. Otherwise any client could make its requests look like another's.
  TRUST_REQUEST_ID: booleanFlag.default(false),
  // Whether a client's W3C traceparent continues its trace in the router; a new trace otherwise.
  // Trusted, a client picks the trace id and the sampling decision of the router's spans.
  OTEL_TRUST_INCOMING_TRACEPARENT: booleanFlag.default(false),
  IDENTITY_SIGNING_SECRET: identitySigningSecret,
  // Bounds the wait for a subgraph's response headers, and each wait for more of its body.
  SUBGRAPH_TIMEOUT_MS: positiveInt(5_000),
  // Keep-alive connections the router opens to each subgraph at most (per router process).
  SUBGRAPH_MAX_CONNECTIONS: positiveInt(128),
  // Identical queries in flight at once, for the same caller and subgraph, share one request.
  DEDUPLICATE_SUBGRAPH_QUERIES: booleanFlag.default(true),
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
  // Request limits: see src/operations/limits.ts. graphql-armor's defaults.
  MAX_DEPTH: positiveInt(6),
  MAX_ALIASES: positiveInt(15),
  MAX_DIRECTIVES: positiveInt(50),
  MAX_TOKENS: positiveInt(1000),
  MAX_FIELD_REPEATS: positiveInt(3),
  MAX_COST: positiveInt(5000),
  // Root fields that each cost a password hash: one per request (see src/operations/limits.ts).
  ONCE_PER_REQUEST_FIELDS: z
    .string()
    .default('Mutation.login,Mutation.updateUser')
    .transform((value) =>
      value === 'none'
        ? []
        : value
            .split(',')
            .map((coordinate) => coordinate.trim())
            .filter(Boolean),
    )
    .pipe(
      z.array(
        z.string().regex(/^[A-Za-z_]\w*\.[A-Za-z_]\w*$/, 'must be Type.field, comma-separated'),
      ),
    ),
  APOLLO_TELEMETRY_DISABLED: apolloTelemetryDisabled,
  // Comma-separated origins whose pages may call the router from a browser. See src/cors.ts.
  CORS_ORIGINS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(corsOrigin))
    .optional(),
  CORS_ALLOW_CREDENTIALS: booleanFlag.optional(),
  // Apollo Router's authorization options: see src/authorization/AuthorizingGateway.ts.
  AUTHORIZATION_REJECT_UNAUTHORIZED: booleanFlag.default(false),
  AUTHORIZATION_DRY_RUN: booleanFlag.default(false),
  AUTHORIZATION_ERRORS: z.enum(AUTHORIZATION_ERRORS_IN).default('errors'),
  AUTHORIZATION_LOG: booleanFlag.default(true),
});

/**
 * Every variable the router reads. The parser ignores any other, so a deployment that
 * sets one has a typo: the Helm chart's test checks every name it gives the pods against this.
 */
export const ROUTER_ENV_NAMES: readonly string[] = Object.freeze(Object.keys(Env.shape));

export interface RouterConfig {
  readonly production: boolean;
  readonly logLevel: LogLevel;
  readonly host: string;
  /** How long requests in flight at SIGTERM may take to finish. */
  readonly shutdownGraceMs: number;
  readonly shutdownDelayMs: number;
  readonly port: number;
  /** Where `/metrics` is served (on `host`); undefined: nowhere. */
  readonly metricsPort: number | undefined;
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
    /** The claim whose scopes a token grants on top of its role's. */
    readonly scopeClaim: string;
    readonly clockToleranceSeconds: number;
    /** The oldest an access token may be, by `iat`; an `iat` in the future is refused too. */
    readonly maxAgeSeconds: number;
    /** Seconds before a token with an unknown `kid` may make the router refetch the JWKS. */
    readonly jwksCooldownSeconds: number;
  };
  /**
   * Access token revocations: where the list is (null: not checked; undefined: the users
   * subgraph's), and how old the router's copy of it may be.
   */
  readonly revocations: { readonly url: string | null | undefined; readonly refreshMs: number };
  /**
   * How many reverse proxies in front of the router append the address they saw to
   * X-Forwarded-For. 0: the caller's address is the socket's peer, and the header is ignored.
   */
  readonly trustedProxyHops: number;
  /** Whether a request's own `x-request-id` becomes its id; a new one otherwise. */
  readonly trustRequestId: boolean;
  /** Whether a request's own `traceparent` is continued; a new trace for each request otherwise. */
  readonly trustIncomingTraceparent: boolean;
  readonly identity: { readonly secret: string };
  readonly subgraphTimeoutMs: number;
  /** The most connections the router keeps open to each subgraph. */
  readonly subgraphMaxConnections: number;
  /**
   * Whether a subgraph query in flight is shared with identical ones (same subgraph, same signed
   * identity, same body) that come before its answer; never a mutation or what follows one.
   */
  readonly deduplicateSubgraphQueries: boolean;
  readonly maxBodyBytes: number;
  readonly limits: OperationLimits;
  readonly persistedDocuments: { readonly mode: TrustedDocumentMode; readonly path: string };
  /** Schema introspection: on in development, off in production unless INTROSPECTION=true. */
  readonly introspection: boolean;
  /** Apollo Sandbox at the router URL: on in development, off in production unless SANDBOX=true. */
  readonly sandbox: boolean;
  /**
   * The usage metrics @apollo/gateway sends to Apollo, and Sandbox's own telemetry. Off unless
   * APOLLO_TELEMETRY_DISABLED=false: nothing leaves the machine that the operator did not ask for.
   */
  readonly apolloTelemetry: boolean;
  /**
   * Which browser pages on other origins may call the router: none in production unless
   * CORS_ORIGINS lists them, the example web app's dev server in development.
   */
  readonly cors: CorsPolicy;
  readonly authorization: AuthorizationOptions;
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
      scopeClaim: env.JWT_SCOPE_CLAIM,
      clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_SECONDS,
      maxAgeSeconds: env.JWT_MAX_AGE_SECONDS,
      jwksCooldownSeconds: env.JWKS_COOLDOWN_SECONDS,
    },
    revocations: {
      url: env.REVOCATIONS_URL === 'off' ? null : env.REVOCATIONS_URL,
      refreshMs: env.REVOCATION_REFRESH_MS,
    },
    trustedProxyHops: env.TRUSTED_PROXY_HOPS,
    trustRequestId: env.TRUST_REQUEST_ID,
    trustIncomingTraceparent: env.OTEL_TRUST_INCOMING_TRACEPARENT,
    identity: { secret: env.IDENTITY_SIGNING_SECRET },
    subgraphTimeoutMs: env.SUBGRAPH_TIMEOUT_MS,
    subgraphMaxConnections: env.SUBGRAPH_MAX_CONNECTIONS,
    deduplicateSubgraphQueries: env.DEDUPLICATE_SUBGRAPH_QUERIES,
    maxBodyBytes: env.MAX_BODY_BYTES,
    limits: {
      maxDepth: env.MAX_DEPTH,
      maxAliases: env.MAX_ALIASES,
      maxDirectives: env.MAX_DIRECTIVES,
      maxTokens: env.MAX_TOKENS,
      maxFieldRepeats: env.MAX_FIELD_REPEATS,
      maxCost: env.MAX_COST,
      oncePerRequest: env.ONCE_PER_REQUEST_FIELDS,
    },
    persistedDocuments: {
      mode: env.PERSISTED_DOCUMENTS_MODE ?? (production ? 'enforce' : 'allow'),
      path: resolve(env.PERSISTED_DOCUMENTS_PATH),
    },
    introspection,
    // Sandbox explores the schema through introspection, so it needs it.
    sandbox: introspection && (env.SANDBOX ?? !production),
    apolloTelemetry: !env.APOLLO_TELEMETRY_DISABLED,
    cors: {
      origins: env.CORS_ORIGINS ?? (production ? [] : DEVELOPMENT_CORS_ORIGINS),
      allowCredentials: env.CORS_ALLOW_CREDENTIALS ?? false,
    },
    authorization: {
      rejectUnauthorized: env.AUTHORIZATION_REJECT_UNAUTHORIZED,
      dryRun: env.AUTHORIZATION_DRY_RUN,
      errors: env.AUTHORIZATION_ERRORS,
      log: env.AUTHORIZATION_LOG,
    },
  });
}
