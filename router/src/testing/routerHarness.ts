import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { printSubgraphSchema } from '@apollo/subgraph';
import { parse, type GraphQLSchema } from 'graphql';
import { SignJWT } from 'jose';
import type { Registry } from 'prom-client';
import { expect } from 'vitest';
import { z } from 'zod';
import {
  createMetricsRegistry,
  listen,
  type Logger,
  type RunningHttpServer,
} from '@supergraph/service-kit';
import {
  generateSigningKey,
  jwks,
  type SigningKey,
} from '../../../subgraphs/users/src/auth/keys.js';
import { loadRouterConfig } from '../config.js';
import { createRouter } from '../server.js';

/**
 * For tests of the router in front of subgraphs of their own: the real router (createRouter,
 * over HTTP on port 0, the production code path) with a key set it fetches over HTTP and tokens
 * signed with its key, as the users subgraph issues them.
 */
export interface RouterHarness {
  /** The router over `supergraph`, with `env` on top of the test's settings. */
  startRouter(supergraph: string, env?: Record<string, string>): Promise<RunningRouter>;
  /** An access token with the scope claim an identity provider may add. */
  accessToken(
    role: 'USER' | 'ADMIN',
    options?: { scope?: string; subject?: string },
  ): Promise<string>;
  /** Stops every router it started, then the key server. */
  close(): Promise<void>;
}

export interface LogEntry {
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

export interface RunningRouter {
  readonly url: string;
  readonly logs: LogEntry[];
  /** The router's metrics, as `/metrics` would serve them. */
  readonly registry: Registry;
  stop(): Promise<void>;
}

export async function createRouterHarness(): Promise<RouterHarness> {
  const workDir = await mkdtemp(join(tmpdir(), 'router-harness-'));
  const signingKey: SigningKey = await generateSigningKey('EdDSA');
  const keySet = JSON.stringify(jwks([signingKey]));
  const jwksServer = await listen(
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(keySet);
    },
    { host: '127.0.0.1', port: 0 },
  );
  const running: RunningRouter[] = [];

  return {
    async startRouter(supergraph, env = {}) {
      const supergraphPath = join(workDir, `supergraph-${running.length}.graphql`);
      await writeFile(supergraphPath, supergraph);
      const logs: LogEntry[] = [];
      const keep = (message: string, fields: Record<string, unknown> = {}) =>
        void logs.push({ message, fields });
      const logger: Logger = { debug: keep, info: keep, warn: keep, error: keep };
      const config = loadRouterConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        SUPERGRAPH_PATH: supergraphPath,
        IDENTITY_SIGNING_SECRET: TEST_SIGNING_SECRET,
        JWKS_URL: new URL('/.well-known/jwks.json', jwksServer.url).href,
        REVOCATIONS_URL: 'off',
        PERSISTED_DOCUMENTS_MODE: 'off',
        ...env,
      });
      const registry = createMetricsRegistry();
      const router = await createRouter({ config, logger, registry });
      const server = await listen(router.listener, { host: '127.0.0.1', port: 0 });
      const started: RunningRouter = {
        url: server.url,
        logs,
        registry,
        stop: async () => {
          await server.close(1_000);
          await router.stop();
        },
      };
      running.push(started);
      return started;
    },
    accessToken(role, { scope, subject } = {}) {
      return new SignJWT({ role, ...(scope === undefined ? {} : { scope }) })
        .setProtectedHeader({ alg: signingKey.alg, kid: signingKey.kid, typ: 'at+jwt' })
        .setIssuer('urn:supergraph:users')
        .setAudience('supergraph')
        .setSubject(subject ?? `user-${role}-${scope ?? 'none'}`)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(signingKey.privateKey);
    },
    async close() {
      for (const router of running.reverse()) await router.stop();
      await jwksServer.close(1_000);
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** The secret the harness's routers sign subgraph requests with. */
export const TEST_SIGNING_SECRET = 'a-test-secret-of-at-least-32-characters';

const GraphQLResponse = z.object({
  data: z.record(z.string(), z.unknown()).nullable().optional(),
  errors: z
    .array(
      z.object({
        message: z.string(),
        path: z.array(z.union([z.string(), z.number()])).optional(),
        extensions: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .optional(),
  extensions: z.record(z.string(), z.unknown()).optional(),
});
export type GraphQLResponse = z.infer<typeof GraphQLResponse>;

/** A GraphQL request to the router, which must answer 200 with a GraphQL response. */
export async function request(
  url: string,
  query: string,
  { token, variables }: { token?: string; variables?: Record<string, unknown> } = {},
): Promise<GraphQLResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables: variables ?? {} }),
  });
  expect(response.status).toBe(200);
  return GraphQLResponse.parse(await response.json());
}

/** The body a subgraph gets from the router. */
export const SubgraphRequestBody = z.object({
  query: z.string(),
  variables: z.record(z.string(), z.unknown()).nullish(),
});

export async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

/** The supergraph of subgraphs served at their URLs. */
export function compose(
  subgraphs: readonly { name: string; schema: GraphQLSchema; server: RunningHttpServer }[],
): string {
  const composed = composeServices(
    subgraphs.map(({ name, schema, server }) => ({
      name,
      url: server.url,
      typeDefs: parse(printSubgraphSchema(schema)),
    })),
  );
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  return composed.supergraphSdl;
}
