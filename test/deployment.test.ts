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
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

const Compose = z.object({
  services: z.record(
    z.string(),
    z.object({
      build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
      environment: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
      ports: z.array(z.string()).optional(),
      networks: z.array(z.string()),
      healthcheck: z.object({ test: z.array(z.string()) }),
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
    expect(definition?.healthcheck.test.join(' ')).toMatch(/health/);
  });
});

describe('docker-compose.yml', () => {
  it('publishes the router only, and keeps everything else on an internal network', () => {
    const published = Object.entries(compose.services).filter(
      ([, service]) => service.ports?.length,
    );
    expect(published.map(([name]) => name)).toEqual(['router']);
    expect(compose.networks['internal']?.internal).toBe(true);
    for (const name of ['mongo', 'users', 'orders'])
      expect(compose.services[name]?.networks).toEqual(['internal']);
  });

  it('runs MongoDB as a single-node replica set, so retryable writes work', () => {
    expect(read('docker-compose.yml')).toMatch(/--replSet/);
    expect(compose.services['users']?.environment?.['MONGODB_URI']).toMatch(/replicaSet=/);
  });
});
