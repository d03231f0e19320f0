import { z } from 'zod';
import { parseEnv, port } from '@supergraph/service-kit';
import { subgraphEnv, subgraphSettings, type SubgraphSettings } from '@supergraph/subgraph-kit';

const Env = z.object({
  ...subgraphEnv,
  ORDERS_PORT: port(4002),
  ORDERS_DB: z.string().default('orders'),
});

/**
 * Every variable the orders subgraph reads. The parser ignores any other, so a deployment that
 * sets one has a typo: the Helm chart's test checks every name it gives the pods against this.
 */
export const ORDERS_ENV_NAMES: readonly string[] = Object.freeze(Object.keys(Env.shape));

export interface OrdersConfig extends SubgraphSettings {
  readonly port: number;
  readonly database: string;
}

/** Reads the orders subgraph's configuration from the environment, once. */
export function loadOrdersConfig(
  environment: Readonly<Record<string, string | undefined>> = process.env,
): OrdersConfig {
  const env = parseEnv(Env, environment);
  return Object.freeze({
    ...subgraphSettings(env),
    port: env.ORDERS_PORT,
    database: env.ORDERS_DB,
  });
}
