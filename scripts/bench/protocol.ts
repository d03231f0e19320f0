/** What the benchmark's child processes tell its parent over IPC. */

export const SUBGRAPH_NAMES = ['users', 'orders'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** The subgraphs process is listening: each subgraph's URL, and where its request counts are. */
export type SubgraphsReady = Readonly<Record<SubgraphName, string> & { counts: string }>;

/** A gateway process is listening at `url`. */
export interface GatewayReady {
  readonly url: string;
}

/**
 * The gateways the benchmark can run, each in a process of its own (scripts/bench/gateway.ts,
 * scripts/bench/hive.ts). `router-no-dedupe` is the router with DEDUPLICATE_SUBGRAPH_QUERIES=false.
 */
export const GATEWAY_KINDS = [
  'router',
  'router-no-dedupe',
  'stock',
  'stock-jose',
  'hive',
  'hive-no-dedupe',
] as const;
export type GatewayKind = (typeof GATEWAY_KINDS)[number];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function isSubgraphsReady(message: unknown): message is SubgraphsReady {
  return (
    isRecord(message) &&
    typeof message['counts'] === 'string' &&
    SUBGRAPH_NAMES.every((name) => typeof message[name] === 'string')
  );
}

export function isGatewayReady(message: unknown): message is GatewayReady {
  return isRecord(message) && typeof message['url'] === 'string';
}
