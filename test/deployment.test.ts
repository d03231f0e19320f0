import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { loadOrdersConfig } from '../subgraphs/orders/src/config.js';
import { loadUsersConfig } from '../subgraphs/users/src/config.js';
import { loadRouterConfig } from '../router/src/config.js';

/**
 * Docker cannot run on the machines where CI runs, so these checks keep docker-compose.yml and
 * the Dockerfiles honest: the same commands as the npm scripts the tests run, the network
 * layout issue #2 asks for, and environments the services' own config parsers accept.
 */
const root = new URL('..', import.meta.url);
const ci = process.env['CI'] === 'true';
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

const Compose = z.object({
  services: z.record(
    z.string(),
    z.object({
      image: z.string().optional(),
      build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
      profiles: z.array(z.string()).optional(),
      environment: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
      ports: z.array(z.string()).optional(),
      networks: z.array(z.string()),
      // The collector's and Jaeger's images have no shell or HTTP client to run a check with.
      healthcheck: z.object({ test: z.array(z.string()) }).optional(),
    }),
  ),
  networks: z.record(z.string(), z.object({ internal: z.boolean().optional() })),
});
const compose = Compose.parse(parseYaml(read('docker-compose.yml'), { merge: true }));

const services = {
  users: { dir: 'subgraphs/users', load: loadUsersConfig },
  orders: { dir: 'subgraphs/orders', load: loadOrdersConfig },
  router: { dir: 'router', load: loadRouterConfig },
} as const;

/** `${X:?message}` becomes a plausible secret, `${X:-default}` its default. */
function substitute(value: string | number): string {
  return String(value).replace(
    /\$\{(\w+)(?::\?[^}]*|:-([^}]*))?\}/g,
    (_match, _name, fallback?: string) => (fallback === undefined ? 's'.repeat(64) : fallback),
  );
}

describe.each(Object.entries(services))('the %s service', (name, service) => {
  const definition = compose.services[name];

  it('runs in Docker with the very command of its npm start script', () => {
    const start = z
      .object({ scripts: z.object({ start: z.string() }) })
      .parse(JSON.parse(read(`${service.dir}/package.json`)));
    const cmd = /^CMD (\[.*\])$/m.exec(read(`${service.dir}/Dockerfile`))?.[1];
    expect(cmd).toBeDefined();
    expect(JSON.parse(cmd ?? '[]')).toEqual(start.scripts.start.split(/\s+/));
    expect(read(`${service.dir}/Dockerfile`)).toMatch(/^USER node$/m);
    expect(definition?.build?.dockerfile).toBe(`${service.dir}/Dockerfile`);
  });

  it('runs the compiled build in production, with no TypeScript loader in its image', () => {
    const finalStage =
      read(`${service.dir}/Dockerfile`)
        .split(/^FROM /m)
        .at(-1) ?? '';
    expect(finalStage).toContain(
      `COPY --from=build /app/${service.dir}/dist ./${service.dir}/dist`,
    );
    expect(finalStage).toMatch(/HEALTHCHECK[\s\S]*\/health\/ready/);
    expect(finalStage).not.toMatch(/\.ts\b|\btsx\b|COPY packages/);
    // The production dependency tree the image installs (npm ci --omit=dev) has no tsx either.
    const tree = spawnSync(
      'npm',
      [
        'ls',
        'tsx',
        '--omit=dev',
        '--workspace',
        service.dir,
        '--include-workspace-root=false',
        '--json',
      ],
      { cwd: new URL('.', root).pathname, encoding: 'utf8' },
    );
    expect(tree.stdout).toContain('"name": "supergraph"');
    expect(tree.stdout).not.toMatch(/"tsx"/);
  });

  it('gets an environment from docker-compose.yml that its config accepts, in production', () => {
    const environment = Object.fromEntries(
      Object.entries(definition?.environment ?? {}).map(([key, value]) => [key, substitute(value)]),
    );
    expect(environment['NODE_ENV']).toBe('production');
    const config = service.load(environment);
    expect(config.host).toBe('0.0.0.0');
  });

  it('has a healthcheck', () => {
    expect(definition?.healthcheck?.test.join(' ')).toMatch(/health/);
  });

  it('exports no traces unless OTEL_EXPORTER_OTLP_ENDPOINT is set: no collector runs by default', () => {
    expect(definition?.environment?.['OTEL_EXPORTER_OTLP_ENDPOINT']).toBe(
      '${OTEL_EXPORTER_OTLP_ENDPOINT:-}',
    );
  });
});

/** The services of one profile; `undefined`: those that run with no profile at all. */
const servicesOf = (profile?: string) =>
  Object.entries(compose.services).filter(([, service]) =>
    profile === undefined ? !service.profiles : service.profiles?.includes(profile),
  );

describe('docker-compose.yml', () => {
  it('publishes the router only, and keeps everything else on an internal network', () => {
    const published = servicesOf().filter(([, service]) => service.ports?.length);
    expect(published.map(([name]) => name)).toEqual(['router']);
    expect(compose.networks['internal']?.internal).toBe(true);
    for (const name of ['mongo', 'users', 'orders'])
      expect(compose.services[name]?.networks).toEqual(['internal']);
  });

  it('runs MongoDB as a single-node replica set, so retryable writes work', () => {
    expect(read('docker-compose.yml')).toMatch(/--replSet/);
    expect(compose.services['users']?.environment?.['MONGODB_URI']).toMatch(/replicaSet=/);
  });

  // The same command as .ci/run's: docker-compose validates the file without a Docker engine.
  it.for<{ profile: string; flags: string[] }>([
    { profile: 'no profile', flags: [] },
    { profile: 'the observability profile', flags: ['--profile', 'observability'] },
  ])('passes `docker-compose config` with $profile', { timeout: 30_000 }, ({ flags }, context) => {
    const check = spawnSync(
      'docker-compose',
      ['--env-file', '.env.example', ...flags, 'config', '--quiet'],
      { cwd: new URL('.', root).pathname, encoding: 'utf8' },
    );
    if (check.error && !ci) context.skip('docker-compose is not installed; .ci/run installs it');
    expect(check.error).toBeUndefined();
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});

describe('the observability profile', () => {
  const observability = servicesOf('observability');

  it('adds a collector, Jaeger, Prometheus and Grafana, each from a pinned image', () => {
    expect(Object.fromEntries(observability.map(([name, service]) => [name, service.image])))
      .toMatchInlineSnapshot(`
      {
        "grafana": "grafana/grafana:12.4.0",
        "jaeger": "jaegertracing/jaeger:2.19.0",
        "otel-collector": "otel/opentelemetry-collector-contrib:0.157.0",
        "prometheus": "prom/prometheus:v3.13.3",
      }
    `);
  });

  it("publishes only Grafana and the Jaeger UI, on the host's loopback", () => {
    const published = observability.filter(([, service]) => service.ports?.length);
    expect(Object.fromEntries(published.map(([name, service]) => [name, service.ports]))).toEqual({
      grafana: ['127.0.0.1:3000:3000'],
      jaeger: ['127.0.0.1:16686:16686'],
    });
  });

  it('reaches every service from the collector and Prometheus, with no route out', () => {
    const networksOf = (name: string) => compose.services[name]?.networks ?? [];
    for (const name of Object.keys(services))
      for (const peer of ['otel-collector', 'prometheus'])
        expect(networksOf(name).some((network) => networksOf(peer).includes(network))).toBe(true);
    // Only what must be published is on a network with a route out.
    for (const [name, service] of observability)
      for (const network of service.networks)
        if (!compose.networks[network]?.internal) expect(['grafana', 'jaeger']).toContain(name);
  });
});
