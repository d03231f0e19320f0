import { z } from 'zod';
import { parseEnv, port } from '@supergraph/service-kit';
import { subgraphEnv, subgraphSettings, type SubgraphSettings } from '@supergraph/subgraph-kit';

const Env = z.object({
  ...subgraphEnv,
  ORDERS_PORT: port(4002),
  ORDERS_DB: z.string().default('orders'),
});

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
