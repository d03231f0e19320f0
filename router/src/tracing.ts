import { createRequire } from 'node:module';
import { startTracing, type Tracing } from '@supergraph/service-kit';

/**
 * The `@opentelemetry/api` that @apollo/gateway itself loads. npm gives the gateway a copy of its
 * own (the OTel 1.x packages it depends on accept no API from 1.10 on), and the gateway takes its
 * tracer from that copy when it is first imported. Resolved from the gateway's own directory, so
 * it is that copy wherever npm put it, in the source tree and beside the built bundle alike.
 */
function gatewayOpenTelemetryApi(): unknown {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve('@apollo/gateway'))('@opentelemetry/api');
}

/**
 * The router's `startTracing`: the same switch (OTEL_EXPORTER_OTLP_ENDPOINT) and exporter as the
 * subgraphs', with Apollo Gateway's spans (`gateway.request`, `gateway.plan`, `gateway.fetch`,
 * ...) sent to it too rather than to a provider that records nothing.
 */
export function startRouterTracing(env: Readonly<Record<string, string | undefined>>): Tracing {
  return startTracing({ service: 'router', env, apiCopies: [gatewayOpenTelemetryApi()] });
}
