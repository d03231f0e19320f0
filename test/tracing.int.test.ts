import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
// The copy @apollo/gateway uses: what any library in the process would ask for its tracer.
import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraph, type RunningGraph } from './graph.js';

/** A span as an OTLP/JSON export carries it, with its service and plain attributes. */
interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status: { code?: number };
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: OtlpAttribute[];
        status?: { code?: number };
      }[];
    }[];
  }[];
}

function plain(value: OtlpValue): unknown {
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  return value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
}

function attributesOf(attributes: OtlpAttribute[] = []): Record<string, unknown> {
  return Object.fromEntries(attributes.map(({ key, value }) => [key, plain(value)]));
}

/** An OTLP/HTTP receiver, as a collector listens on :4318, keeping every span it is sent. */
async function startReceiver(): Promise<{ url: string; spans: ExportedSpan[]; server: Server }> {
  const spans: ExportedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name']);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              service,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || undefined,
              name: span.name,
              kind: span.kind,
              attributes: attributesOf(span.attributes),
              status: span.status ?? {},
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, server };
}

const ME_WITH_ORDERS =
  'query MyOrders { me { username email orders(first: 5) { edges { node { id item } } } } }';

describe('with nothing configured', () => {
  // Every TCP connection the process opens while the graph runs, by the port it goes to.
  const ports: number[] = [];
  const onSocket = (message: unknown) => {
    if (typeof message !== 'object' || message === null || !('socket' in message)) return;
    if (!(message.socket instanceof Socket)) return;
    message.socket.on('connectionAttempt', (_ip: string, port: number) => ports.push(port));
  };

  it('registers no tracer provider, sends no traceparent and connects to nothing else', async () => {
    subscribe('net.client.socket', onSocket);
    let graph: RunningGraph | undefined;
    try {
      graph = await startGraph('tracing-off');
      const { token } = await graph.login('user', 'u');
      const response = await graph.request(graph.routerUrl, ME_WITH_ORDERS, { token });
      expect(response.body.errors).toBeUndefined();

      const provider = trace.getTracerProvider();
      expect(provider).toBeInstanceOf(ProxyTracerProvider);
      if (provider instanceof ProxyTracerProvider) {
        expect(provider.getDelegateTracer('probe')).toBeUndefined();
      }
      expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
      const subgraphHeaders = [...graph.subgraphRequests.users, ...graph.subgraphRequests.orders];
      expect(subgraphHeaders.length).toBeGreaterThan(0);
      for (const { headers } of subgraphHeaders) expect(headers['traceparent']).toBeUndefined();

      const allowed = new Set(
        [graph.routerUrl, graph.usersUrl, graph.ordersUrl, ...Object.values(graph.metricsUrls)].map(
          (url) => Number(new URL(url).port),
        ),
      );
      const mongoPorts = new Set(graph.commands.map((command) => splitPort(command.address)));
      expect(ports.length).toBeGreaterThan(0);
      for (const port of ports) expect(allowed.has(port) || mongoPorts.has(port)).toBe(true);
    } finally {
      unsubscribe('net.client.socket', onSocket);
      await graph?.stop();
    }
  });
});

function splitPort(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

describe('with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const secrets: string[] = [];
  let adminId: string;
  const clientTraceId = randomBytes(16).toString('hex');

  beforeAll(async () => {
    receiver = await startReceiver();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const graph = await startGraph('tracing', { routerEnv: env, usersEnv: env, ordersEnv: env });
    try {
      const admin = await graph.login('admin', 'a');
      adminId = admin.userId;
      const username = `tracer${randomBytes(3).toString('hex')}`;
      const password = `pw-${randomBytes(12).toString('hex')}`;
      const email = `${username}.private@example.com`;
      const created = await graph.request(
        graph.routerUrl,
        'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }',
        { token: admin.token, variables: { input: { username, password, email } } },
      );
      expect(created.body.errors).toBeUndefined();
      const user = await graph.login(username, password);
      secrets.push(password, email, user.token, user.refreshToken, admin.token);

      // A client's own trace context: not continued unless OTEL_TRUST_INCOMING_TRACEPARENT says.
      const me = await graph.request(graph.routerUrl, ME_WITH_ORDERS, {
        token: user.token,
        headers: { traceparent: `00-${clientTraceId}-${randomBytes(8).toString('hex')}-01` },
      });
      expect(me.body.errors).toBeUndefined();
      expect(me.body.data?.['me']).toMatchObject({ username, email });

      // Fails: another user's account is FORBIDDEN (the users subgraph's @policy).
      const other = await graph.request(
        graph.routerUrl,
        'query Other($id: ID!) { user(id: $id) { username } }',
        { token: user.token, variables: { id: adminId } },
      );
      expect(other.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    } finally {
      // Shutting down exports every span that is left.
      await graph.stop();
    }
  });
  afterAll(() => new Promise<void>((resolve) => receiver.server.close(() => resolve())));

  const rootNamed = (name: string) => {
    const roots = receiver.spans.filter(
      (span) => span.service === 'router' && span.name === name && !span.parentSpanId,
    );
    expect(roots, `one root span "${name}"`).toHaveLength(1);
    return roots[0]!;
  };
  const childrenOf = (parent: ExportedSpan) =>
    receiver.spans.filter(
      (span) => span.traceId === parent.traceId && span.parentSpanId === parent.spanId,
    );
  const descendantsOf = (parent: ExportedSpan): ExportedSpan[] =>
    childrenOf(parent).flatMap((child) => [child, ...descendantsOf(child)]);
  const names = (spans: ExportedSpan[]) => spans.map((span) => span.name);

  it('traces one request from the router through both subgraphs to MongoDB', () => {
    const root = rootNamed('graphql.operation query MyOrders');
    expect(root.kind).toBe(SPAN_KIND_SERVER);
    expect(root.traceId).not.toBe(clientTraceId);
    expect(root.attributes).toMatchObject({
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'MyOrders',
      'graphql.outcome': 'success',
      'http.response.status_code': 200,
    });
    const trace = descendantsOf(root);
    expect(names(trace)).toEqual(
      expect.arrayContaining([
        'graphql.parse',
        'graphql.validate',
        'gateway.request',
        'gateway.plan',
        'gateway.fetch',
      ]),
    );

    const fetches = trace.filter((span) => span.name === 'gateway.fetch');
    for (const subgraph of ['users', 'orders']) {
      const fetch = fetches.find((span) => span.attributes['service'] === subgraph);
      expect(fetch, `a gateway.fetch for ${subgraph}`).toBeDefined();
      // The subgraph's operation span is the fetch's child: traceparent crossed the wire.
      const [operation, ...others] = childrenOf(fetch!).filter((span) => span.service === subgraph);
      expect(others).toHaveLength(0);
      expect(operation?.kind).toBe(SPAN_KIND_SERVER);
      expect(operation?.name).toMatch(/^graphql\.operation query /);
      expect(operation?.attributes).toMatchObject({
        'graphql.subgraph.name': subgraph,
        'graphql.outcome': 'success',
      });
      const finds = descendantsOf(operation!).filter(
        (span) => span.attributes['db.operation.name'] === 'find',
      );
      expect(finds.length, `MongoDB finds under the ${subgraph} operation`).toBeGreaterThan(0);
      for (const find of finds) {
        expect(find.service).toBe(subgraph);
        expect(find.kind).toBe(SPAN_KIND_CLIENT);
        expect(find.attributes).toMatchObject({
          'db.system': 'mongodb',
          'db.system.name': 'mongodb',
          'db.namespace': expect.stringContaining(`_${subgraph}`),
          'db.collection.name': expect.any(String),
        });
      }
    }
    expect(
      receiver.spans.some((span) => span.traceId === clientTraceId),
      'the client traceparent is not continued by default',
    ).toBe(false);
  });

  it('records a failed request with its error code, not its message or variables', () => {
    const root = rootNamed('graphql.operation query Other');
    expect(root.attributes).toMatchObject({
      'graphql.outcome': 'partial',
      'graphql.error.codes': ['FORBIDDEN'],
    });
    expect(root.status.code).toBe(2);
    const operation = descendantsOf(root).find(
      (span) => span.service === 'users' && span.kind === SPAN_KIND_SERVER,
    );
    expect(operation?.attributes['graphql.error.codes']).toEqual(['FORBIDDEN']);
  });

  it('puts no token, password, email, variable or document in any span', () => {
    expect(receiver.spans.length).toBeGreaterThan(0);
    expect(secrets).toHaveLength(5);
    for (const span of receiver.spans) {
      const text = JSON.stringify(span.attributes);
      for (const secret of [...secrets, adminId]) expect(text).not.toContain(secret);
      expect(span.attributes).not.toHaveProperty('graphql.document');
    }
  });
});
