import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { listen, startTracing, type RunningHttpServer } from '@supergraph/service-kit';
import { loadOrdersConfig, ORDERS_ENV_NAMES } from '../subgraphs/orders/src/config.js';
import { loadUsersConfig, USERS_ENV_NAMES } from '../subgraphs/users/src/config.js';
import { loadRouterConfig, ROUTER_ENV_NAMES } from '../router/src/config.js';

/**
 * No cluster runs where CI runs, so these checks read what the Helm chart renders, as
 * test/deployment.test.ts reads docker-compose.yml: environments the services' own config parsers
 * accept, only the router exposed, NetworkPolicies that admit exactly the intended pods, probes on
 * the health routes, secret keys that exist, the restricted Pod Security Standard everywhere, and
 * the same images and variable names as docker-compose.yml.
 */
const root = new URL('..', import.meta.url);
const chart = new URL('deploy/helm/supergraph/', root);
const ci = process.env['CI'] === 'true';
const helm = process.env['HELM'] ?? 'helm';
const NAMESPACE = 'supergraph';
const read = (path: string | URL) => readFileSync(new URL(path, root), 'utf8');

const helmFound = !spawnSync(helm, ['version', '--short'], { encoding: 'utf8' }).error;

/** Skips the test with a message where helm is missing, except under CI=true: there it fails. */
function needHelm(context: TestContext): void {
  if (helmFound) return;
  if (ci) throw new Error(`${helm} is not installed; .ci/run installs it`);
  context.skip(
    `${helm} is not installed; .ci/run installs it (go install helm.sh/helm/v4/cmd/helm)`,
  );
}

// The parts of Kubernetes objects these tests read; everything else passes through.
const Labels = z.record(z.string(), z.string());
const LabelSelector = z.object({
  matchLabels: Labels.optional(),
  matchExpressions: z
    .array(
      z.object({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
const SecurityContext = z.looseObject({
  runAsNonRoot: z.boolean().optional(),
  runAsUser: z.number().optional(),
  privileged: z.boolean().optional(),
  allowPrivilegeEscalation: z.boolean().optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
  capabilities: z
    .object({ drop: z.array(z.string()).optional(), add: z.array(z.string()).optional() })
    .optional(),
  seccompProfile: z.object({ type: z.string() }).optional(),
});
const HttpProbe = z.looseObject({
  httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number()]) }).optional(),
});
const EnvVar = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .object({
      secretKeyRef: z
        .object({ name: z.string(), key: z.string(), optional: z.boolean().optional() })
        .optional(),
    })
    .optional(),
});
const Container = z.looseObject({
  name: z.string(),
  image: z.string(),
  ports: z
    .array(z.object({ name: z.string(), containerPort: z.number(), protocol: z.string() }))
    .optional(),
  env: z.array(EnvVar).optional(),
  livenessProbe: HttpProbe.optional(),
  readinessProbe: HttpProbe.optional(),
  lifecycle: z
    .object({ preStop: z.object({ exec: z.object({ command: z.array(z.string()) }) }) })
    .optional(),
  securityContext: SecurityContext.optional(),
});
const PodTemplate = z.object({
  metadata: z.object({
    labels: Labels,
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.looseObject({
    containers: z.array(Container),
    initContainers: z.array(Container).optional(),
    securityContext: SecurityContext.optional(),
    terminationGracePeriodSeconds: z.number().optional(),
    automountServiceAccountToken: z.boolean().optional(),
    hostNetwork: z.boolean().optional(),
    hostPID: z.boolean().optional(),
    hostIPC: z.boolean().optional(),
    volumes: z.array(z.looseObject({ name: z.string() })).optional(),
  }),
});
const Manifest = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({ name: z.string(), namespace: z.string().optional() }),
});
type Manifest = z.infer<typeof Manifest>;
const Workload = z.object({
  kind: z.enum(['Deployment', 'StatefulSet', 'Job']),
  metadata: z.object({ name: z.string() }),
  spec: z.looseObject({ replicas: z.number().optional(), template: PodTemplate }),
});
const Service = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.looseObject({
    type: z.string().optional(),
    clusterIP: z.string().optional(),
    selector: Labels,
    ports: z.array(z.looseObject({ name: z.string(), port: z.number() })),
  }),
});
const Secret = z.object({
  metadata: z.object({ name: z.string() }),
  stringData: z.record(z.string(), z.string()).optional(),
  data: z.record(z.string(), z.string()).optional(),
});
const Peer = z.object({
  podSelector: LabelSelector.optional(),
  namespaceSelector: LabelSelector.optional(),
});
const NetworkPolicy = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    podSelector: LabelSelector,
    policyTypes: z.array(z.string()),
    ingress: z.array(
      z.object({
        ports: z.array(z.object({ port: z.union([z.string(), z.number()]) })).optional(),
        from: z.array(Peer).optional(),
      }),
    ),
  }),
});
const Ingress = z.object({
  spec: z.looseObject({
    rules: z.array(
      z.object({
        http: z.object({
          paths: z.array(
            z.looseObject({ backend: z.object({ service: z.object({ name: z.string() }) }) }),
          ),
        }),
      }),
    ),
  }),
});

interface Rendered {
  readonly manifests: readonly Manifest[];
  readonly stderr: string;
  of<T extends z.ZodType>(kind: string, schema: T): z.infer<T>[];
  workload(component: string): z.infer<typeof Workload>;
}

const cache = new Map<string, Rendered>();

/** `helm template` of the chart with these arguments (values files, --set), parsed. */
function render(args: readonly string[]): Rendered {
  const id = args.join('\0');
  const cached = cache.get(id);
  if (cached) return cached;
  const result = spawnSync(
    helm,
    ['template', 'supergraph', chart.pathname, '--namespace', NAMESPACE, ...args],
    { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 },
  );
  if (result.status !== 0) throw new Error(`helm template ${args.join(' ')}:\n${result.stderr}`);
  const manifests = parseAllDocuments(result.stdout)
    .map((document) => document.toJS({ maxAliasCount: -1 }))
    .filter((value) => value !== null)
    .map((value) => Manifest.parse(value));
  const rendered: Rendered = {
    manifests,
    stderr: result.stderr,
    of: (kind, schema) =>
      manifests.filter((manifest) => manifest.kind === kind).map((m) => schema.parse(m)),
    workload: (component) => {
      const found = manifests
        .filter((m) => ['Deployment', 'StatefulSet', 'Job'].includes(m.kind))
        .map((m) => Workload.parse(m))
        .find((w) => w.spec.template.metadata.labels['app.kubernetes.io/component'] === component);
      if (!found) throw new Error(`no workload for ${component}`);
      return found;
    },
  };
  cache.set(id, rendered);
  return rendered;
}

/** A helm failure's message, for values that must be refused. */
function refusal(args: readonly string[]): string {
  const result = spawnSync(
    helm,
    ['template', 'supergraph', chart.pathname, '--namespace', NAMESPACE, ...args],
    { encoding: 'utf8' },
  );
  expect(result.status, `helm template ${args.join(' ')} should fail`).not.toBe(0);
  return result.stderr;
}

const valuesFile = (name: string) => ['-f', new URL(name, chart).pathname];
const ciValues = readdirSync(new URL('ci/', chart)).filter((name) => name.endsWith('.yaml'));
/** Every set of values the chart is checked with: the defaults, production, each optional part. */
const variants: Record<string, readonly string[]> = {
  'the default values': [],
  'values-production.yaml': valuesFile('values-production.yaml'),
  ...Object.fromEntries(ciValues.map((name) => [`ci/${name}`, valuesFile(`ci/${name}`)])),
};

const services = {
  router: { load: loadRouterConfig, names: ROUTER_ENV_NAMES },
  users: { load: loadUsersConfig, names: USERS_ENV_NAMES },
  orders: { load: loadOrdersConfig, names: ORDERS_ENV_NAMES },
} as const;
type ServiceName = keyof typeof services;
const serviceNames: readonly ServiceName[] = ['router', 'users', 'orders'];

/** What a Secret the chart does not create (an existingSecret) would hold, plausibly. */
const EXTERNAL_SECRET_VALUES: Record<string, string> = {
  IDENTITY_SIGNING_SECRET: 's'.repeat(64),
  JWT_PRIVATE_KEY:
    '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n',
  JWT_PREVIOUS_PUBLIC_KEY: '',
  SEED_ADMIN_PASSWORD: '',
  SEED_USER_PASSWORD: '',
  'mongodb-uri': 'mongodb://supergraph:secret@mongo.example.com:27017/?replicaSet=rs0',
  'mongodb-root-password': 'r'.repeat(32),
  'mongodb-password': 'p'.repeat(32),
  'mongodb-replica-set-key': 'k'.repeat(756),
};

function secretsOf(rendered: Rendered): Map<string, Record<string, string>> {
  return new Map(
    rendered.of('Secret', Secret).map((secret) => [
      secret.metadata.name,
      {
        ...Object.fromEntries(
          Object.entries(secret.data ?? {}).map(([k, v]) => [
            k,
            Buffer.from(v, 'base64').toString('utf8'),
          ]),
        ),
        ...secret.stringData,
      },
    ]),
  );
}

/** The environment a container gets, with secret references resolved as the kubelet would. */
function environmentOf(
  rendered: Rendered,
  container: z.infer<typeof Container>,
): Record<string, string> {
  const secrets = secretsOf(rendered);
  const environment: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      const secret = secrets.get(ref.name);
      const value = secret ? secret[ref.key] : EXTERNAL_SECRET_VALUES[ref.key];
      if (value === undefined && !ref.optional)
        throw new Error(`${variable.name}: no key ${ref.key} in the Secret ${ref.name}`);
      if (value !== undefined) environment[variable.name] = value;
    } else {
      environment[variable.name] = variable.value ?? '';
    }
  }
  return environment;
}

const mainContainer = (rendered: Rendered, component: string) => {
  const container = rendered.workload(component).spec.template.spec.containers[0];
  if (!container) throw new Error(`${component} has no container`);
  return container;
};
const portOf = (container: z.infer<typeof Container>, name: string) =>
  container.ports?.find((port) => port.name === name)?.containerPort;

/**
 * Whether the tracing setup reads a variable: it refuses a value that is no URL for the ones it
 * reads, and ignores the rest, so a nonsense value tells the two apart.
 */
function tracingReads(name: string): boolean {
  try {
    startTracing({ service: 'probe', env: { [name]: 'not a url' } });
    return false;
  } catch (error) {
    return String(error).includes(name);
  }
}

describe.each(Object.entries(variants))('the chart with %s', (_variant, args) => {
  it('renders, and every pod of the three services gets an environment its config accepts', (context) => {
    needHelm(context);
    const rendered = render(args);
    for (const name of serviceNames) {
      const container = mainContainer(rendered, name);
      const environment = environmentOf(rendered, container);
      const unknown = Object.keys(environment).filter(
        (variable) => !services[name].names.includes(variable) && !tracingReads(variable),
      );
      expect(unknown, `${name}: variables its config does not read`).toEqual([]);
      const config = services[name].load(environment);
      expect(config.host).toBe('0.0.0.0');
      // The container port the probes and the Service use is the one the service listens on.
      expect(portOf(container, 'http')).toBe(config.port);
      expect(portOf(container, 'metrics')).toBe(config.metricsPort);
    }
  });

  it('exposes the router only: every other Service is internal, every Ingress leads to it', (context) => {
    needHelm(context);
    const rendered = render(args);
    const router = rendered.workload('router').metadata.name;
    for (const service of rendered.of('Service', Service)) {
      if (service.spec.selector['app.kubernetes.io/component'] === 'router') continue;
      expect(service.spec.type ?? 'ClusterIP', service.metadata.name).toBe('ClusterIP');
    }
    for (const ingress of rendered.of('Ingress', Ingress))
      for (const rule of ingress.spec.rules)
        for (const path of rule.http.paths) expect(path.backend.service.name).toBe(router);
    expect(rendered.manifests.filter((m) => m.kind === 'ConfigMap')).toEqual([]);
  });

  it('references only Secret keys that exist, and passes every secret through a Secret', (context) => {
    needHelm(context);
    const rendered = render(args);
    const secrets = secretsOf(rendered);
    const secretVariables = [
      'IDENTITY_SIGNING_SECRET',
      'JWT_PRIVATE_KEY',
      'JWT_PREVIOUS_PUBLIC_KEY',
      'MONGODB_URI',
      'SEED_ADMIN_PASSWORD',
      'SEED_USER_PASSWORD',
      'MONGO_INITDB_ROOT_PASSWORD',
      'MONGODB_ROOT_PASSWORD',
      'MONGODB_PASSWORD',
    ];
    for (const manifest of rendered.manifests) {
      if (!['Deployment', 'StatefulSet', 'Job'].includes(manifest.kind)) continue;
      const { spec } = Workload.parse(manifest).spec.template;
      for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
        for (const variable of container.env ?? []) {
          const ref = variable.valueFrom?.secretKeyRef;
          if (secretVariables.includes(variable.name)) expect(ref, variable.name).toBeDefined();
          if (!ref) continue;
          const secret = secrets.get(ref.name);
          // A Secret of the user's own: the key must be one the chart documents for it.
          if (secret) expect(Object.keys(secret), `${ref.name}`).toContain(ref.key);
          else expect(Object.keys(EXTERNAL_SECRET_VALUES)).toContain(ref.key);
        }
      }
      for (const volume of spec.volumes ?? []) {
        const secretVolume = z
          .object({ secret: z.object({ secretName: z.string() }).optional() })
          .parse(volume).secret;
        if (secretVolume && secrets.has(secretVolume.secretName))
          expect(Object.keys(secrets.get(secretVolume.secretName) ?? {})).toContain(
            'mongodb-replica-set-key',
          );
      }
    }
  });

  it('keeps pods of every workload through a node drain, and never all of them', (context) => {
    needHelm(context);
    const rendered = render(args);
    const PodDisruptionBudget = z.object({
      metadata: z.object({ name: z.string() }),
      spec: z.object({ minAvailable: z.number(), selector: LabelSelector }),
    });
    for (const pdb of rendered.of('PodDisruptionBudget', PodDisruptionBudget)) {
      const selected = rendered.manifests
        .filter((m) => ['Deployment', 'StatefulSet'].includes(m.kind))
        .map((m) => Workload.parse(m))
        .filter((w) => matches(pdb.spec.selector, w.spec.template.metadata.labels));
      expect(selected, pdb.metadata.name).toHaveLength(1);
      const replicas = selected[0]?.spec.replicas;
      // With an autoscaler, its minimum (2 or more) is the floor.
      expect(pdb.spec.minAvailable).toBeLessThan(replicas ?? 2);
    }
  });

  it('probes /health/live and /health/ready on the port each service listens on', (context) => {
    needHelm(context);
    const rendered = render(args);
    for (const name of serviceNames) {
      const container = mainContainer(rendered, name);
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    }
  });

  it('runs every container under the restricted Pod Security Standard', (context) => {
    needHelm(context);
    const rendered = render(args);
    for (const manifest of rendered.manifests) {
      if (!['Deployment', 'StatefulSet', 'Job'].includes(manifest.kind)) continue;
      const { spec } = Workload.parse(manifest).spec.template;
      const where = `${manifest.kind} ${manifest.metadata.name}`;
      expect(spec.securityContext?.runAsNonRoot, where).toBe(true);
      expect(spec.securityContext?.seccompProfile?.type, where).toBe('RuntimeDefault');
      expect(spec.automountServiceAccountToken, where).toBe(false);
      expect([spec.hostNetwork, spec.hostPID, spec.hostIPC], where).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
      for (const volume of spec.volumes ?? []) expect(volume, where).not.toHaveProperty('hostPath');
      for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const security = container.securityContext;
        const at = `${where}, container ${container.name}`;
        expect(security?.runAsNonRoot, at).toBe(true);
        expect(security?.runAsUser ?? 0, at).toBeGreaterThan(0);
        expect(security?.privileged ?? false, at).toBe(false);
        expect(security?.allowPrivilegeEscalation, at).toBe(false);
        expect(security?.readOnlyRootFilesystem, at).toBe(true);
        expect(security?.capabilities?.drop, at).toContain('ALL');
        expect(security?.capabilities?.add ?? [], at).toEqual([]);
        expect(security?.seccompProfile?.type, at).toBe('RuntimeDefault');
      }
    }
  });

  it('gives each service the drain it is configured for: preStop, then SHUTDOWN_GRACE_MS, within the grace', (context) => {
    needHelm(context);
    const rendered = render(args);
    for (const name of serviceNames) {
      const { spec } = rendered.workload(name).spec.template;
      const container = mainContainer(rendered, name);
      const graceMs = services[name].load(environmentOf(rendered, container)).shutdownGraceMs;
      const [sleep, seconds] = container.lifecycle?.preStop.exec.command ?? [];
      expect(sleep).toBe('sleep');
      expect(Number(seconds)).toBeGreaterThan(0);
      expect(spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(
        graceMs / 1000 + Number(seconds),
      );
    }
  });
});

/** Whether a label selector matches a set of labels, as the API server evaluates it. */
function matches(selector: z.infer<typeof LabelSelector>, labels: Record<string, string>) {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values }) => {
    const value = labels[key];
    switch (operator) {
      case 'In':
        return value !== undefined && (values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
    }
  });
  return byLabels && byExpressions;
}

interface Pod {
  readonly name: string;
  readonly namespace: string;
  readonly namespaceLabels: Record<string, string>;
  readonly labels: Record<string, string>;
  /** Container port numbers by name. */
  readonly ports: Record<string, number>;
}

/** Whether `source` may open a connection to `target` on its port called `port`. */
function admits(policies: z.infer<typeof NetworkPolicy>[], target: Pod, source: Pod, port: string) {
  const selecting = policies.filter((policy) => matches(policy.spec.podSelector, target.labels));
  // A pod no policy selects takes everything.
  if (selecting.length === 0) return true;
  return selecting.some((policy) =>
    policy.spec.ingress.some(
      (rule) =>
        (rule.ports ?? [{ port }]).some((p) => p.port === port || p.port === target.ports[port]) &&
        (rule.from === undefined ||
          rule.from.some((peer) => {
            const inNamespace = peer.namespaceSelector
              ? matches(peer.namespaceSelector, source.namespaceLabels)
              : source.namespace === target.namespace;
            return inNamespace && (!peer.podSelector || matches(peer.podSelector, source.labels));
          })),
    ),
  );
}

describe.each([
  // The namespace metrics.allowedNamespaceSelector names in each set of values.
  { variant: 'the default values', scrapers: 'monitoring' },
  { variant: 'ci/observability-values.yaml', scrapers: 'observability' },
  { variant: 'ci/external-mongodb-uri-values.yaml', scrapers: 'monitoring' },
])('the NetworkPolicies with $variant', ({ variant, scrapers }) => {
  it('admit exactly the intended pods on each port', (context) => {
    needHelm(context);
    const rendered = render(variants[variant] ?? []);
    const policies = rendered.of('NetworkPolicy', NetworkPolicy);
    const inRelease = rendered.manifests
      .filter((m) => ['Deployment', 'StatefulSet', 'Job'].includes(m.kind))
      .map((m): Pod => {
        const { metadata, spec } = Workload.parse(m).spec.template;
        return {
          name: metadata.labels['app.kubernetes.io/component'] ?? m.metadata.name,
          namespace: NAMESPACE,
          namespaceLabels: { 'kubernetes.io/metadata.name': NAMESPACE },
          labels: metadata.labels,
          ports: Object.fromEntries(
            spec.containers.flatMap((c) => (c.ports ?? []).map((p) => [p.name, p.containerPort])),
          ),
        };
      });
    const outsider = (name: string, namespace: string): Pod => ({
      name,
      namespace,
      namespaceLabels: { 'kubernetes.io/metadata.name': namespace },
      labels: { app: name },
      ports: {},
    });
    const sources = [
      ...inRelease,
      outsider('prometheus', scrapers),
      outsider('stranger', 'default'),
      // A pod in the release's namespace that is not one of the release's own.
      outsider('neighbour', NAMESPACE),
    ];
    const intended: Record<string, Record<string, readonly string[]>> = {
      router: {
        http: sources.map((s) => s.name),
        metrics: ['prometheus'],
      },
      users: { http: ['router'], metrics: ['prometheus'] },
      orders: { http: ['router'], metrics: ['prometheus'] },
      mongodb: { mongodb: ['users', 'orders', 'mongodb', 'mongodb-init'] },
    };
    for (const target of inRelease) {
      const ports = intended[target.name];
      if (!ports) continue;
      expect(Object.keys(target.ports).sort(), target.name).toEqual(Object.keys(ports).sort());
      for (const [port, allowed] of Object.entries(ports)) {
        const admitted = sources
          .filter((source) => admits(policies, target, source, port))
          .map((s) => s.name);
        expect(admitted.sort(), `${target.name}:${port}`).toEqual([...new Set(allowed)].sort());
      }
    }
    // Every pod of the release is selected by a policy: none takes everything by default.
    for (const pod of inRelease.filter((p) => p.name !== 'mongodb-init'))
      expect(
        policies.some((policy) => matches(policy.spec.podSelector, pod.labels)),
        pod.name,
      ).toBe(true);
  });
});

describe('the chart beside docker-compose.yml', () => {
  const Compose = z.object({
    services: z.record(
      z.string(),
      z.looseObject({
        image: z.string().optional(),
        command: z.array(z.string()).optional(),
        environment: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
      }),
    ),
  });
  const compose = Compose.parse(parseYaml(read('docker-compose.yml'), { merge: true }));

  it('runs the same MongoDB image, as a replica set of the same name', (context) => {
    needHelm(context);
    const mongodb = mainContainer(render([]), 'mongodb');
    expect(mongodb.image).toBe(compose.services['mongo']?.image);
    const replSet = (args: readonly string[] = []) => args[args.indexOf('--replSet') + 1];
    expect(replSet(z.array(z.string()).parse(mongodb['args']))).toBe(
      replSet(compose.services['mongo']?.command),
    );
  });

  // Variables the chart sets that docker-compose.yml leaves to the default, and why.
  const chartOnly: Record<ServiceName, readonly string[]> = {
    // terminationGracePeriodSeconds is computed from it, so the pod says what it was computed for.
    router: ['SHUTDOWN_GRACE_MS'],
    // And the default, the node's CPU count, is wrong for a pod with a CPU limit.
    users: ['SHUTDOWN_GRACE_MS', 'PASSWORD_HASH_CONCURRENCY'],
    orders: ['SHUTDOWN_GRACE_MS'],
  };

  it.for(serviceNames)(
    'gives %s the environment names docker-compose.yml gives it',
    (name, context) => {
      needHelm(context);
      const chartNames = (mainContainer(render([]), name).env ?? []).map((v) => v.name).sort();
      const composeNames = Object.keys(compose.services[name]?.environment ?? {});
      expect(chartNames).toEqual([...composeNames, ...chartOnly[name]].sort());
    },
  );

  it('names the images as docker compose build does, for a project called supergraph', (context) => {
    needHelm(context);
    for (const name of serviceNames) {
      expect(compose.services[name]?.image, 'compose builds the image, names it itself').toBe(
        undefined,
      );
      expect(mainContainer(render([]), name).image).toBe(`supergraph-${name}:latest`);
    }
  });
});

describe('values.schema.json', () => {
  const Schema = z.object({
    properties: z.record(
      z.string(),
      z.looseObject({
        properties: z
          .record(
            z.string(),
            z.looseObject({ propertyNames: z.object({ enum: z.array(z.string()) }).optional() }),
          )
          .optional(),
      }),
    ),
  });
  const schema = Schema.parse(JSON.parse(read(new URL('values.schema.json', chart))));
  // Variables the chart sets itself, or takes from a Secret: not settable through `<service>.env`.
  const managed = [
    // From the chart's own values: nodeEnv, logLevel, shutdownGraceMs, metrics.enabled.
    ...['NODE_ENV', 'LOG_LEVEL', 'HOST', 'SHUTDOWN_GRACE_MS', 'METRICS_PORT'],
    // The container ports, the probes and the Services are built on these.
    ...['ROUTER_PORT', 'USERS_PORT', 'ORDERS_PORT', 'USERS_URL', 'ORDERS_URL', 'JWKS_URL'],
    // Secrets.
    ...['IDENTITY_SIGNING_SECRET', 'MONGODB_URI', 'JWT_PRIVATE_KEY', 'JWT_PREVIOUS_PUBLIC_KEY'],
    ...['SEED_ADMIN_PASSWORD', 'SEED_USER_PASSWORD'],
    // Development keys on disk: the root filesystem is read-only, and production has none.
    'DATA_DIR',
  ];

  it.each(serviceNames)(
    'lets %s.env set exactly the variables its config reads, less those the chart manages',
    (name) => {
      const allowed = schema.properties[name]?.properties?.['env']?.propertyNames?.enum;
      expect(allowed).toEqual(services[name].names.filter((n) => !managed.includes(n)));
    },
  );

  it.for([
    {
      wrong: 'a misspelt variable',
      set: 'router.env.TRUSTED_PROXY_HOP=1',
      says: 'TRUSTED_PROXY_HOP',
    },
    { wrong: 'a secret as a setting', set: 'users.env.JWT_PRIVATE_KEY=x', says: 'JWT_PRIVATE_KEY' },
    { wrong: 'an unknown Service type', set: 'router.service.type=Public', says: 'type' },
    {
      wrong: 'a short identity secret',
      set: 'secrets.identitySigningSecret=short',
      says: 'identitySigningSecret',
    },
    { wrong: 'no MongoDB at all', set: 'mongodb.enabled=false', says: 'external' },
    {
      wrong: 'a MongoDB URI of another scheme',
      set: 'mongodb.external.uri=http://db',
      says: 'uri',
    },
    { wrong: 'an unknown value', set: 'router.replica=3', says: 'replica' },
  ])('refuses $wrong at install time', ({ set, says }, context) => {
    needHelm(context);
    expect(refusal(['--set', set])).toContain(says);
  });
});

/** A mongodb:// URI's parts, decoded as the driver decodes them; URL cannot parse several hosts. */
function mongodbUri(uri = '') {
  const parts = /^mongodb:\/\/([^:@/]+):([^@/]+)@([^/]+)\/\?(.*)$/.exec(uri);
  if (!parts) throw new Error(`not a mongodb:// URI with credentials: ${uri}`);
  const [, username = '', password = '', hosts = '', options = ''] = parts;
  return {
    username: decodeURIComponent(username),
    password: decodeURIComponent(password),
    hosts: hosts.split(','),
    options: new URLSearchParams(options),
  };
}

describe('the chart across upgrades', () => {
  const checksums = (args: readonly string[]) =>
    Object.fromEntries(
      serviceNames.map((name) => [
        name,
        render(args).workload(name).spec.template.metadata.annotations?.['checksum/secrets'],
      ]),
    );
  const given = valuesFile('ci/given-secrets-values.yaml');

  it('rolls only the users pods for a key rotation, and all three for a new identity secret', (context) => {
    needHelm(context);
    const before = checksums(given);
    const rotated = checksums([...given, '--set', 'secrets.jwtPreviousPublicKey=']);
    expect(rotated['users']).not.toBe(before['users']);
    expect([rotated['router'], rotated['orders']]).toEqual([before['router'], before['orders']]);
    const newSecret = checksums([
      ...given,
      '--set',
      `secrets.identitySigningSecret=${'n'.repeat(40)}`,
    ]);
    for (const name of serviceNames) expect(newSecret[name], name).not.toBe(before[name]);
    // The same values render the same pods: an upgrade without changes restarts nothing.
    expect(checksums([...given, '--set', 'logLevel=info'])).toEqual(before);
  });

  it('generates what it is not given: a signing key the users service can use, one MongoDB password', (context) => {
    needHelm(context);
    const secrets = secretsOf(render([]));
    const app = secrets.get('supergraph-secrets') ?? {};
    const key = createPrivateKey(app['JWT_PRIVATE_KEY'] ?? '');
    expect(key.asymmetricKeyType).toBe('ed25519');
    expect(app['IDENTITY_SIGNING_SECRET']?.length).toBeGreaterThanOrEqual(32);
    const mongodb = secrets.get('supergraph-mongodb') ?? {};
    // The URI the subgraphs get carries the very password the init job gives the user.
    const uri = mongodbUri(mongodb['mongodb-uri']);
    expect(uri.password).toBe(mongodb['mongodb-password']);
    expect(uri.hosts).toHaveLength(3);
    expect(uri.options.get('replicaSet')).toBe('rs0');
  });

  it('URL-encodes a MongoDB password given in values', (context) => {
    needHelm(context);
    const mongodb = secretsOf(render(given)).get('supergraph-mongodb') ?? {};
    expect(mongodbUri(mongodb['mongodb-uri']).password).toBe('p@ss:word/for ci');
  });
});

describe('values-production.yaml', () => {
  const production = () => render(variants['values-production.yaml'] ?? []);

  it('pins the images, runs no MongoDB of its own, and takes every secret from Secrets it does not create', (context) => {
    needHelm(context);
    const rendered = production();
    for (const name of serviceNames)
      expect(mainContainer(rendered, name).image).toMatch(
        /^ghcr\.io\/example\/supergraph-\w+:1\.0\.0$/,
      );
    expect(
      rendered.manifests.filter((m) => ['StatefulSet', 'Job', 'Secret'].includes(m.kind)),
    ).toEqual([]);
    const uri = mainContainer(rendered, 'users').env?.find((v) => v.name === 'MONGODB_URI');
    expect(uri?.valueFrom?.secretKeyRef).toEqual({
      name: 'supergraph-mongodb',
      key: 'mongodb-uri',
    });
  });

  it('scales on CPU, and reaches the router through an Ingress that trusts one proxy hop', (context) => {
    needHelm(context);
    const rendered = production();
    const HorizontalPodAutoscaler = z.object({
      spec: z.looseObject({ scaleTargetRef: z.object({ kind: z.string(), name: z.string() }) }),
    });
    const targets = rendered.of('HorizontalPodAutoscaler', HorizontalPodAutoscaler);
    expect(targets.map((hpa) => hpa.spec.scaleTargetRef.name).sort()).toEqual(
      serviceNames.map((name) => rendered.workload(name).metadata.name).sort(),
    );
    // The autoscaler owns the replica count: a Deployment that set it would fight it on upgrade.
    for (const name of serviceNames) expect(rendered.workload(name).spec.replicas).toBeUndefined();
    expect(rendered.of('Ingress', Ingress)).toHaveLength(1);
    const config = loadRouterConfig(environmentOf(rendered, mainContainer(rendered, 'router')));
    expect(config.trustedProxyHops).toBe(1);
  });

  it('selects each service by ServiceMonitor on its metrics port', (context) => {
    needHelm(context);
    const rendered = production();
    const ServiceMonitor = z.object({
      spec: z.object({
        selector: LabelSelector,
        endpoints: z.array(z.object({ port: z.string(), path: z.string() })),
      }),
    });
    const monitors = rendered.of('ServiceMonitor', ServiceMonitor);
    expect(monitors).toHaveLength(3);
    for (const monitor of monitors) {
      const selected = rendered
        .of('Service', Service)
        .filter((service) => matches(monitor.spec.selector, service.spec.selector));
      expect(selected).toHaveLength(1);
      expect(selected[0]?.spec.ports.map((port) => port.name)).toContain('metrics');
      expect(monitor.spec.endpoints).toEqual([
        expect.objectContaining({ port: 'metrics', path: '/metrics' }),
      ]);
    }
  });
});

describe('the MongoDB replica set', () => {
  it('is initiated by a job whose mongosh script compiles, and that reads its credentials from the environment', (context) => {
    needHelm(context);
    const job = render([]).workload('mongodb-init');
    const command = job.spec.template.spec.containers[0]?.['command'];
    const [script] = z.array(z.string()).parse(command).slice(-1);
    // mongosh is JavaScript: a syntax error here would surface only in a cluster.
    expect(() => new Script(script ?? '')).not.toThrow();
    expect(script).toContain('NotYetInitialized');
    expect(script).toMatch(/process\.env/);
    expect(script).not.toMatch(/password-for|[A-Za-z0-9]{32}/);
  });

  it('has as many members as the URI the subgraphs get names, each through the headless Service', (context) => {
    needHelm(context);
    const rendered = render(['--set', 'mongodb.replicas=5']);
    const uri = mongodbUri(secretsOf(rendered).get('supergraph-mongodb')?.['mongodb-uri']);
    expect(rendered.workload('mongodb').spec.replicas).toBe(5);
    expect(uri.hosts).toEqual(
      [0, 1, 2, 3, 4].map(
        (i) =>
          `supergraph-mongodb-${i}.supergraph-mongodb-headless.supergraph.svc.cluster.local:27017`,
      ),
    );
  });
});

describe('ServiceMonitors', () => {
  const monitors = (args: readonly string[]) =>
    render(args).manifests.filter((m) => m.kind === 'ServiceMonitor').length;

  it('come with the Prometheus Operator: when the cluster serves its API, or when asked for', (context) => {
    needHelm(context);
    expect(monitors([])).toBe(0);
    expect(monitors(['--api-versions', 'monitoring.coreos.com/v1'])).toBe(3);
    expect(monitors(['--set', 'metrics.serviceMonitor.enabled=true'])).toBe(3);
    const off = ['--api-versions', 'monitoring.coreos.com/v1', '--set', 'metrics.enabled=false'];
    expect(monitors(off)).toBe(0);
  });
});

describe('the health routes the probes use', () => {
  let server: RunningHttpServer;
  beforeAll(async () => {
    server = await listen(
      (_req, res) => {
        res.writeHead(404).end();
      },
      { host: '127.0.0.1', port: 0 },
    );
  });
  afterAll(() => server.close(0));

  it('are served by every service, on its own port', async () => {
    const status = async (path: string) =>
      (await fetch(`http://127.0.0.1:${server.port}${path}`)).status;
    expect(await status('/health/live')).toBe(200);
    expect(await status('/health/ready')).toBe(200);
    // A path of another convention would reach the service and be refused: the probe would fail.
    expect(await status('/healthz')).toBe(404);
  });
});
