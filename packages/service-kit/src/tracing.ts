import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  context,
  createContextKey,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type Tracer,
  type TracerProvider as ApiTracerProvider,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type {
  CommandFailedEvent,
  CommandStartedEvent,
  CommandSucceededEvent,
  MongoClient,
} from 'mongodb';
import { z } from 'zod';
import { httpUrl, parseEnv } from './config.js';

// OTel's own variables, read the way the specification defines them. The endpoint is what turns
// tracing on: with none, nothing here runs, so nothing is exported, probed or connected to.
const TracingEnv = z.object({
  OTEL_SDK_DISABLED: z
    .string()
    .optional()
    .transform((value) => value?.trim().toLowerCase() === 'true'),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  // @opentelemetry/exporter-trace-otlp-http sends OTLP/JSON, which every collector, Jaeger and
  // Tempo accept on their OTLP/HTTP port. Saying so is better than sending what was not asked for.
  OTEL_EXPORTER_OTLP_PROTOCOL: z
    .literal('http/json', { error: 'only http/json is supported (OTLP/HTTP with JSON bodies)' })
    .optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z
    .literal('http/json', { error: 'only http/json is supported (OTLP/HTTP with JSON bodies)' })
    .optional(),
});

/** What `startTracing` returns: whether spans are exported, and the way to flush them at exit. */
export interface Tracing {
  readonly enabled: boolean;
  /** Exports the spans that ended so far. */
  flush(): Promise<void>;
  /** Exports what is left and stops; the service's spans are not recorded after this. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** `service.name` of the spans: `router`, `users`, `orders`. */
  service: string;
  /** The environment to read the standard `OTEL_*` variables from. */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Other copies of `@opentelemetry/api` loaded in the process whose tracers should reach this
   * service's provider. npm installs a second copy for @apollo/gateway (its OTel 1.x packages cap
   * the API below ours), and the gateway takes its tracer from that copy when it is loaded, before
   * any provider exists: only that copy's own proxy can hand its spans to ours.
   */
  apiCopies?: readonly unknown[];
}

/** How long a shutdown may wait for the collector: it must fit in the orchestrator's grace. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

/** Each started service's tracer, by service name: several services share a process in tests. */
const tracers = new Map<string, Tracer>();
/** Which service's request the current async context belongs to (see `traceRequests`). */
const SERVICE_KEY = createContextKey('supergraph service');
const propagator = new W3CTraceContextPropagator();
let contextManager: AsyncLocalStorageContextManager | undefined;

/**
 * Starts exporting this service's spans over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, unless `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`. Otherwise it does nothing at all: no provider is registered, no
 * exporter exists and no connection is made. Call it first thing at start, and `shutdown` last.
 *
 * The resource is built here from the service's name alone: no resource detectors, which would
 * ask cloud metadata services (169.254.169.254 and friends) who the machine is.
 */
export function startTracing({ service, env, apiCopies = [] }: TracingOptions): Tracing {
  const settings = parseEnv(TracingEnv, env);
  const url =
    settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (settings.OTEL_EXPORTER_OTLP_ENDPOINT &&
      new URL('v1/traces', settings.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/*$/, '/')).href);
  if (!url || settings.OTEL_SDK_DISABLED || settings.OTEL_TRACES_EXPORTER === 'none') {
    return { enabled: false, flush: async () => {}, shutdown: async () => {} };
  }

  const provider = new TracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: service })),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }) })],
  });
  if (!contextManager) {
    contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
  }
  // Before our own registration: once a global provider exists, a copy's proxy is out of reach.
  for (const api of apiCopies) delegateProxyOf(api, provider);
  // The first service of the process owns the global provider (in production there is one).
  const registered = trace.setGlobalTracerProvider(provider);
  tracers.set(service, provider.getTracer(`@supergraph/${service}`));

  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    flush: () => provider.forceFlush({ timeoutMillis: SHUTDOWN_TIMEOUT_MS }),
    shutdown: () =>
      (stopped ??= (async () => {
        tracers.delete(service);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          provider.shutdown(),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS))),
        ]);
        clearTimeout(timer);
        if (registered) trace.disable();
        if (tracers.size === 0 && contextManager) {
          context.disable();
          contextManager = undefined;
        }
      })()),
  };
}

/** Sets `provider` behind the ProxyTracerProvider of another copy of the OTel API, if it is one. */
function delegateProxyOf(api: unknown, provider: ApiTracerProvider): void {
  if (typeof api !== 'object' || api === null || !('trace' in api)) return;
  const copy = api.trace;
  if (typeof copy !== 'object' || copy === null || !('getTracerProvider' in copy)) return;
  if (typeof copy.getTracerProvider !== 'function') return;
  const proxy: unknown = copy.getTracerProvider();
  if (typeof proxy !== 'object' || proxy === null || !('setDelegate' in proxy)) return;
  if (typeof proxy.setDelegate === 'function') proxy.setDelegate(provider);
}

/** The tracer of the service whose request is running, if that service traces. */
function activeServiceTracer(): Tracer | undefined {
  const service = context.active().getValue(SERVICE_KEY);
  return typeof service === 'string' ? tracers.get(service) : undefined;
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const MAX_PATH_LENGTH = 128;

export interface TraceRequestsOptions {
  /** The service whose tracer records the requests (see `startTracing`). */
  service: string;
  /**
   * Continue the trace of an incoming `traceparent`. A subgraph does (its caller is the router);
   * the router only when OTEL_TRUST_INCOMING_TRACEPARENT says so, since a client's header would
   * otherwise choose the trace id and the sampling of the router's spans.
   */
  continueIncomingTrace: boolean;
}

/**
 * Wraps a request listener in one SERVER span per request, active while it runs, so that every
 * span under it (Apollo Gateway's, the operation's, MongoDB's) joins the request's trace. The
 * span records the method, the path without its query string (a GET's variables are in it) and
 * the status; no header, address or body. A service that does not trace gets the listener as is.
 */
export function traceRequests(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  { service, continueIncomingTrace }: TraceRequestsOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const tracer = tracers.get(service);
    if (!tracer) return listener(req, res);
    const parent = continueIncomingTrace
      ? propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter)
      : ROOT_CONTEXT;
    const method = HTTP_METHODS.has(req.method ?? '') ? (req.method ?? '') : '_OTHER';
    const path = (req.url ?? '/').split('?')[0]?.slice(0, MAX_PATH_LENGTH) ?? '/';
    const span = tracer.startSpan(
      `${method} ${path}`,
      {
        kind: SpanKind.SERVER,
        attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: path },
      },
      parent,
    );
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
      if (res.statusCode >= 500) {
        span.setAttribute(ATTR_ERROR_TYPE, String(res.statusCode));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      if (!res.writableFinished) span.setAttribute('http.response.aborted', true);
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(trace.setSpan(parent, span).setValue(SERVICE_KEY, service), () =>
      listener(req, res),
    );
  };
}

/**
 * Adds `traceparent` (and `tracestate`) for the active span to outgoing request headers,
 * replacing any that were there. The router calls it after signing a subgraph request: the trace
 * context is not part of the signature, so tracing can neither weaken nor break it.
 */
export function injectTraceContext(headers: Record<string, string>): void {
  delete headers['traceparent'];
  delete headers['tracestate'];
  propagator.inject(context.active(), headers, defaultTextMapSetter);
}

const MAX_NAME_LENGTH = 64;
const MAX_ERROR_CODES = 10;
/** Error codes are this project's constants; anything else is counted as one kind. */
const ERROR_CODE_FORMAT = /^[A-Z][A-Z0-9_]{0,63}$/;

/** A GraphQL name cut to a bounded length (names are the client's choice). */
function boundedName(name: string | null | undefined): string | undefined {
  return name ? name.slice(0, MAX_NAME_LENGTH) : undefined;
}

/**
 * Apollo Server plugin that names the request's SERVER span after its operation
 * (`graphql.operation query Me`) and records what an operator searches by: the operation's
 * name and type, the subgraph, the outcome (`success`, `partial`, `error`) and the error codes,
 * plus a span each for parsing and validation. Never the document, the variables or the error
 * messages: those carry the caller's data (a login's password, an email).
 */
export function createTracingPlugin<TContext extends BaseContext>(
  options: { subgraph?: string } = {},
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const tracer = activeServiceTracer();
      const span = trace.getActiveSpan();
      if (!tracer || !span?.isRecording()) return {};
      const parent = context.active();
      if (options.subgraph) span.setAttribute('graphql.subgraph.name', options.subgraph);
      const step = (name: string) => {
        const child = tracer.startSpan(name, { kind: SpanKind.INTERNAL }, parent);
        return (failed: boolean) => {
          if (failed) child.setStatus({ code: SpanStatusCode.ERROR });
          child.end();
        };
      };
      return {
        async parsingDidStart() {
          const end = step('graphql.parse');
          return async (error) => end(error !== undefined);
        },
        async validationDidStart() {
          const end = step('graphql.validate');
          return async (errors) => end((errors?.length ?? 0) > 0);
        },
        async didResolveOperation({ operation, operationName }) {
          if (!operation) return;
          const type = operation.operation;
          const name = boundedName(operationName ?? operation.name?.value);
          span.updateName(`graphql.operation ${type}${name ? ` ${name}` : ''}`);
          span.setAttributes({
            'graphql.operation.type': type,
            ...(name ? { 'graphql.operation.name': name } : {}),
          });
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { data, errors = [] } = response.body.singleResult;
          recordOutcome(span, data !== undefined && data !== null, errors);
        },
      };
    },
  };
}

function recordOutcome(
  span: Span,
  hasData: boolean,
  errors: readonly { extensions?: Record<string, unknown> }[],
): void {
  const codes = [
    ...new Set(
      errors.map(({ extensions }) => {
        const code = extensions?.['code'];
        return typeof code === 'string' && ERROR_CODE_FORMAT.test(code) ? code : 'OTHER';
      }),
    ),
  ].slice(0, MAX_ERROR_CODES);
  const outcome = errors.length === 0 ? 'success' : hasData ? 'partial' : 'error';
  const attributes: Attributes = { 'graphql.outcome': outcome };
  if (codes.length > 0) {
    attributes['graphql.error.codes'] = codes;
    attributes[ATTR_ERROR_TYPE] = codes[0];
    span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(' ') });
  }
  span.setAttributes(attributes);
}

const MAX_COLLECTION_LENGTH = 128;

/** The collection a command works on: its first field's value, or getMore's `collection`. */
function collectionOf(event: CommandStartedEvent): string | undefined {
  const target: unknown =
    event.commandName === 'getMore'
      ? event.command['collection']
      : event.command[event.commandName];
  return typeof target === 'string' ? target.slice(0, MAX_COLLECTION_LENGTH) : undefined;
}

/**
 * One CLIENT span per MongoDB command sent while a traced request runs, from the driver's command
 * monitoring (the client needs `monitorCommands: true`): the command's name, database and
 * collection, and how it ended. Never the command document, whose filter and values are the
 * caller's data, nor a server error's message, which quotes them ("dup key: { username: … }").
 * Commands outside a request (index builds at start, sweeps) are not traced.
 */
export function traceMongoCommands(client: MongoClient): void {
  const spans = new Map<string, Span>();
  const keyOf = (event: { address: string; connectionId?: string | number; requestId: number }) =>
    `${event.address} ${event.connectionId ?? ''} ${event.requestId}`;

  client.on('commandStarted', (event: CommandStartedEvent) => {
    const tracer = activeServiceTracer();
    if (!tracer) return;
    const collection = collectionOf(event);
    const [host, port] = splitAddress(event.address);
    const attributes: Attributes = {
      [ATTR_DB_SYSTEM_NAME]: 'mongodb',
      // The name before semantic conventions 1.26, which many backends still show.
      'db.system': 'mongodb',
      [ATTR_DB_OPERATION_NAME]: event.commandName,
      [ATTR_DB_NAMESPACE]: event.databaseName,
      ...(collection ? { [ATTR_DB_COLLECTION_NAME]: collection } : {}),
      ...(host ? { [ATTR_SERVER_ADDRESS]: host } : {}),
      ...(port ? { [ATTR_SERVER_PORT]: port } : {}),
    };
    const name = collection ? `${event.commandName} ${collection}` : event.commandName;
    spans.set(
      keyOf(event),
      tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, context.active()),
    );
  });
  client.on('commandSucceeded', (event: CommandSucceededEvent) => {
    const key = keyOf(event);
    spans.get(key)?.end();
    spans.delete(key);
  });
  client.on('commandFailed', (event: CommandFailedEvent) => {
    const key = keyOf(event);
    const span = spans.get(key);
    if (!span) return;
    spans.delete(key);
    const code: unknown = 'code' in event.failure ? event.failure.code : undefined;
    span.setAttributes({
      [ATTR_ERROR_TYPE]: event.failure.name,
      ...(typeof code === 'number' || typeof code === 'string'
        ? { [ATTR_DB_RESPONSE_STATUS_CODE]: String(code) }
        : {}),
    });
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
}

/** `host:port` or `[v6]:port` into its parts. */
function splitAddress(address: string): [string | undefined, number | undefined] {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (!match) return [address || undefined, undefined];
  return [match[1], Number(match[2])];
}
