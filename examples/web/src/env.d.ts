/** The build-time settings the app reads (Vite exposes `VITE_`-prefixed variables to the page). */
interface ImportMetaEnv {
  /** The router's GraphQL endpoint, when it is not /graphql on the page's own origin. */
  readonly VITE_GRAPHQL_URL?: string;
}
