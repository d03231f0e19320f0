import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * The configuration of docker-compose.yml's observability profile (deploy/observability/), checked
 * without a Docker engine: Prometheus's with promtool, the collector's with a collector built from
 * the same release as its image (scripts/install-otelcol.sh), and Grafana's dashboard against the
 * metrics the services serve. .ci/run installs both tools; without CI=true a missing one skips.
 */
const root = new URL('..', import.meta.url);
const cwd = new URL('.', root).pathname;
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const ci = process.env['CI'] === 'true';

const Compose = z.object({
  services: z.record(
    z.string(),
    z.object({
      image: z.string().optional(),
      environment: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
      volumes: z.array(z.string()).optional(),
      networks: z.array(z.string()),
    }),
  ),
});
const compose = Compose.parse(parseYaml(read('docker-compose.yml'), { merge: true }));
const service = (name: string) => {
  const definition = compose.services[name];
  if (!definition) throw new Error(`docker-compose.yml has no ${name} service`);
  return definition;
};
/** Where docker-compose.yml mounts `hostPath` (relative to the repository) in `name`. */
const mountOf = (name: string, hostPath: string) =>
  service(name)
    .volumes?.map((volume) => volume.split(':'))
    .find(([from]) => from === `./${hostPath}`)?.[1];

/** Runs a checking tool; skips the test when it is missing, unless in CI, which installs it. */
function runTool(
  context: { skip: (note?: string) => never },
  command: string,
  args: string[],
  install: string,
) {
  const run = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (run.error && !ci) context.skip(`${command} is not installed (${install}); CI installs it`);
  expect(run.error, `${command} must be installed in CI (${install})`).toBeUndefined();
  return run;
}

describe('Prometheus (deploy/observability/prometheus.yml)', () => {
  const Config = z.object({
    scrape_configs: z.array(
      z.object({
        job_name: z.string(),
        metrics_path: z.string(),
        static_configs: z.array(z.object({ targets: z.array(z.string()) })),
      }),
    ),
  });
  const config = Config.parse(parseYaml(read('deploy/observability/prometheus.yml')));

  it('passes promtool check config', (context) => {
    const check = runTool(
      context,
      'promtool',
      ['check', 'config', 'deploy/observability/prometheus.yml'],
      'apt-get install prometheus',
    );
    expect(check.stderr + check.stdout).toContain('SUCCESS');
    expect(check.status).toBe(0);
  });

  it.for(['router', 'users', 'orders'])(
    'scrapes the %s service on the METRICS_PORT docker-compose.yml gives it',
    (name) => {
      const port = service(name).environment?.['METRICS_PORT'];
      expect(port).toBeDefined();
      const job = config.scrape_configs.find((scrape) => scrape.job_name === name);
      expect(job?.metrics_path).toBe('/metrics');
      expect(job?.static_configs.flatMap((target) => target.targets)).toEqual([`${name}:${port}`]);
    },
  );

  it('is the file the Prometheus container reads', () => {
    expect(mountOf('prometheus', 'deploy/observability/prometheus.yml')).toBe(
      '/etc/prometheus/prometheus.yml',
    );
  });
});

describe('the OpenTelemetry Collector (deploy/observability/otel-collector.yaml)', () => {
  const path = 'deploy/observability/otel-collector.yaml';
  const Components = z.record(z.string(), z.unknown()).optional();
  const Config = z.object({
    receivers: Components,
    processors: Components,
    exporters: Components,
    service: z.object({
      pipelines: z.record(
        z.string(),
        z.object({
          receivers: z.array(z.string()),
          processors: z.array(z.string()).optional(),
          exporters: z.array(z.string()),
        }),
      ),
    }),
  });
  const config = Config.parse(parseYaml(read(path)));

  it('defines every component its pipelines use, and sends traces on to Jaeger', () => {
    for (const pipeline of Object.values(config.service.pipelines)) {
      for (const name of pipeline.receivers) expect(config.receivers).toHaveProperty([name]);
      for (const name of pipeline.processors ?? [])
        expect(config.processors).toHaveProperty([name]);
      for (const name of pipeline.exporters) expect(config.exporters).toHaveProperty([name]);
    }
    expect(config.service.pipelines['traces']?.receivers).toEqual(['otlp']);
    expect(read(path)).toMatch(/endpoint: 0\.0\.0\.0:4318/);
    expect(read(path)).toMatch(/endpoint: jaeger:4317/);
    expect(mountOf('otel-collector', path)).toBe('/etc/otelcol-contrib/config.yaml');
  });

  it('passes the validation of a collector of the same release as its image', (context) => {
    const image = service('otel-collector').image ?? '';
    expect(read('scripts/install-otelcol.sh')).toContain(
      `OTELCOL_VERSION:-v${image.split(':')[1] ?? ''}}`,
    );
    const check = runTool(
      context,
      'otelcol-validate',
      ['validate', `--config=${path}`],
      'bash scripts/install-otelcol.sh',
    );
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});

describe('Grafana (deploy/observability/grafana/)', () => {
  const Datasources = z.object({
    datasources: z.array(z.object({ uid: z.string(), type: z.string(), url: z.string() })),
  });
  const { datasources } = Datasources.parse(
    parseYaml(read('deploy/observability/grafana/provisioning/datasources/datasources.yaml')),
  );
  const Target = z.object({
    refId: z.string(),
    expr: z.string(),
    datasource: z.object({ uid: z.string() }),
  });
  const Panel = z.object({
    id: z.number(),
    type: z.string(),
    title: z.string(),
    datasource: z.object({ uid: z.string() }).optional(),
    targets: z.array(Target).optional(),
  });
  const Dashboard = z.object({
    uid: z.string().min(1),
    title: z.string(),
    schemaVersion: z.number(),
    panels: z.array(Panel),
  });
  const dashboardFile = 'deploy/observability/grafana/dashboards/supergraph.json';
  const dashboard = Dashboard.parse(JSON.parse(read(dashboardFile)));
  const queries = dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ panel: panel.title, ...target })),
  );

  /**
   * The metrics the services serve and their labels (router/src/metrics.ts, the subgraphs'
   * metrics, prom-client's process defaults); `le` is every histogram bucket's. Prometheus adds
   * `job` and `instance` to each.
   */
  const served: Readonly<Record<string, readonly string[]>> = {
    supergraph_router_requests_total: ['operation_name', 'operation_type', 'outcome'],
    supergraph_router_request_duration_seconds_bucket: [
      'operation_name',
      'operation_type',
      'outcome',
      'le',
    ],
    supergraph_router_subgraph_fetches_total: ['subgraph', 'outcome'],
    supergraph_router_subgraph_fetch_duration_seconds_bucket: ['subgraph', 'outcome', 'le'],
    supergraph_router_token_refusals_total: ['reason'],
    supergraph_router_limit_refusals_total: ['limit'],
    supergraph_router_trusted_document_refusals_total: [],
    supergraph_router_revocation_list_age_seconds: [],
    supergraph_users_logins_total: ['outcome'],
    supergraph_mongodb_command_duration_seconds_bucket: ['service', 'command', 'outcome', 'le'],
    supergraph_mongodb_pool_connections: ['service', 'state'],
    process_cpu_seconds_total: [],
    process_resident_memory_bytes: [],
    nodejs_eventloop_lag_seconds: [],
  };
  const targetLabels = ['job', 'instance'];

  it('provisions a Prometheus and a Jaeger data source, at their compose services', () => {
    expect(datasources.map(({ uid, type, url }) => ({ uid, type, url }))).toEqual([
      { uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' },
      { uid: 'jaeger', type: 'jaeger', url: 'http://jaeger:16686' },
    ]);
  });

  it('loads the dashboard from where docker-compose.yml mounts it', () => {
    const Providers = z.object({
      providers: z.array(
        z.object({ type: z.literal('file'), options: z.object({ path: z.string() }) }),
      ),
    });
    const { providers } = Providers.parse(
      parseYaml(read('deploy/observability/grafana/provisioning/dashboards/dashboards.yaml')),
    );
    const mounted = mountOf('grafana', 'deploy/observability/grafana/dashboards');
    expect(providers.map((provider) => provider.options.path)).toEqual([mounted]);
    expect(mountOf('grafana', 'deploy/observability/grafana/provisioning')).toBe(
      '/etc/grafana/provisioning',
    );
    expect(service('grafana').environment?.['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH']).toBe(
      `${mounted}/supergraph.json`,
    );
  });

  it('has a dashboard with a uid, unique panel ids and a schema version Grafana 11+ reads', () => {
    expect(dashboard.uid).toBe('supergraph');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('queries only the provisioned Prometheus data source', () => {
    const uids = new Set(datasources.map((datasource) => datasource.uid));
    for (const panel of dashboard.panels.filter((panel) => panel.type !== 'row'))
      expect(uids, panel.title).toContain(panel.datasource?.uid);
    for (const query of queries) expect(query.datasource.uid, query.panel).toBe('prometheus');
  });

  it('has the panels an operator asks for first', () => {
    const titles = dashboard.panels.map((panel) => panel.title).join('\n');
    for (const topic of [
      /requests\/s by outcome/i,
      /latency by operation \(p50, p99\)/i,
      /subgraph errors/i,
      /token refusals/i,
      /logins/i,
      /mongodb command latency \(p99\)/i,
      /revocation list age/i,
    ])
      expect(titles).toMatch(topic);
  });

  it('uses only metrics and labels the services serve', () => {
    expect(queries.length).toBeGreaterThan(0);
    for (const query of queries) {
      const { metrics, labels } = namesIn(query.expr);
      expect(metrics.length, query.expr).toBeGreaterThan(0);
      for (const metric of metrics) expect(Object.keys(served), query.expr).toContain(metric);
      const known = [...targetLabels, ...metrics.flatMap((metric) => served[metric] ?? [])];
      for (const label of labels) expect(known, query.expr).toContain(label);
    }
  });

  it('finds names in PromQL as the dashboard test needs (a check of the check)', () => {
    expect(
      namesIn(
        'histogram_quantile(0.99, sum by (subgraph, le) (rate(supergraph_router_subgraph_fetch_duration_seconds_bucket{outcome!="success"}[$__rate_interval])))',
      ),
    ).toEqual({
      metrics: ['supergraph_router_subgraph_fetch_duration_seconds_bucket'],
      labels: ['subgraph', 'le', 'outcome'],
    });
    expect(namesIn('sum(rate(supergraph_router_requests_totl[5m]))').metrics).toEqual([
      'supergraph_router_requests_totl',
    ]);
  });
});

/** PromQL's keywords that look like names: aggregation modifiers, set and vector matching. */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
]);
const NAME = /(?<![\w:])[a-zA-Z_:][\w:]*(?![\w:])(?!\s*\()/g;

/**
 * The metric names and the label names (in matchers and in `by`/`without`/`on`/`ignoring` lists)
 * of a PromQL expression. Enough for the dashboard's queries, not a PromQL parser: a name followed
 * by `(` is a function, quoted strings and `[...]` ranges hold no names.
 */
function namesIn(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, '');
  const withoutGroupings = withoutStrings.replace(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_match, list: string) => {
      labels.push(...list.split(',').map((label) => label.trim()));
      return ' ';
    },
  );
  const withoutMatchers = withoutGroupings.replace(/\{([^}]*)\}/g, (_match, matchers: string) => {
    labels.push(
      ...[...matchers.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1] ?? ''),
    );
    return ' ';
  });
  const metrics = [...withoutMatchers.matchAll(NAME)]
    .map((match) => match[0])
    .filter((name) => !KEYWORDS.has(name));
  return { metrics: [...new Set(metrics)], labels: [...new Set(labels)] };
}
