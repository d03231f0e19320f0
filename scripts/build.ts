/**
 * `npm run build`: compiles each service into one ES module, `<service>/dist/index.js`, which is
 * what production runs (`node dist/index.js`: the Dockerfiles' CMD and each workspace's `start`
 * script). No TypeScript loader is needed at run time, so tsx stays a development dependency.
 *
 * The project's own workspaces (`@supergraph/*`, TypeScript sources) are bundled in; every npm
 * package stays an import, resolved from node_modules as usual. Each bundle sits at the same
 * depth as its `src/`, so paths built from `import.meta.url` (the supergraph, the schema files)
 * resolve the same in both. Type checking is `npm run typecheck`'s job; this only emits.
 */
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SERVICES = ['router', 'subgraphs/users', 'subgraphs/orders'] as const;

/**
 * npm packages stay external; only the workspaces' TypeScript is compiled in, and the
 * OpenTelemetry SDK. service-kit's OTel packages (3.x, API 1.10) live in its own node_modules,
 * since @apollo/gateway's OTel 1.x packages keep older ones at the root: imported from the bundle
 * in `<service>/dist/`, they would resolve to the root's, or to nothing. So they are compiled in,
 * as resolved from service-kit. The gateway's own copy stays the gateway's (router/src/tracing.ts).
 */
const npmPackagesExternal: Plugin = {
  name: 'npm-packages-external',
  setup(context) {
    context.onResolve({ filter: /^[^./]/ }, (args) =>
      // `#name`: a package's own subpath imports (package.json "imports"), inside what is bundled.
      args.path.startsWith('@supergraph/') ||
      args.path.startsWith('@opentelemetry/') ||
      args.path.startsWith('#')
        ? undefined
        : { path: args.path, external: true },
    );
  },
};

/** Builds each service's `dist/index.js` (all of them by default), replacing what was there. */
export async function buildServices(services: readonly string[] = SERVICES): Promise<void> {
  for (const service of services) {
    if (!SERVICES.some((known) => known === service)) {
      throw new Error(`unknown service "${service}": expected one of ${SERVICES.join(', ')}`);
    }
    const outdir = join(root, service, 'dist');
    rmSync(outdir, { recursive: true, force: true });
    await build({
      entryPoints: [join(root, service, 'src/index.ts')],
      outfile: join(outdir, 'index.js'),
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'esm',
      sourcemap: true,
      plugins: [npmPackagesExternal],
      logLevel: 'warning',
    });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildServices();
  process.stdout.write(
    `built ${SERVICES.map((service) => `${service}/dist/index.js`).join(', ')}\n`,
  );
}
