import { defineConfig } from 'vite';

/**
 * The dev server proxies /graphql to the router, so the page and the API share an origin and the
 * router needs no CORS rules. ROUTER_URL points it at a router that is not on the default port.
 */
export default defineConfig({
  server: {
    proxy: { '/graphql': process.env['ROUTER_URL'] ?? 'http://localhost:4000' },
  },
});
