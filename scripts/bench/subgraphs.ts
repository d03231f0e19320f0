/**
 * The benchmark's in-memory subgraphs: the project's own users and orders SDLs, resolvers that
 * return fixed data, no MongoDB. Run as a process of its own (`node --import tsx`), so that the
 * gateway processes' CPU and memory are theirs alone. It answers its parent over IPC with its
 * URLs, and counts the requests each subgraph gets on a separate `/counts` endpoint.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse } from 'graphql';
import { SUBGRAPH_NAMES, type SubgraphName, type SubgraphsReady } from './protocol.js';

const CREATED_AT = '2026-01-01T00:00:00.000Z';

interface Reference {
  id: string;
}

function userOf(id: string) {
  return {
    id,
    username: `user-${id}`,
    fullName: `User ${id}`,
    email: `${id}@example.test`,
    role: 'USER',
    createdAt: CREATED_AT,
    deleted: false,
  };
}

/** Orders numbered from `start`, owned by one user each in turn out of ten. */
function ordersFrom(start: number, count: number, ownerId?: string) {
  const edges = Array.from({ length: count }, (_, i) => {
    const n = start + i;
    return {
      cursor: `c${n}`,
      node: {
        id: `o${n}`,
        item: `item ${n}`,
        address: `${n} Main St`,
        createdAt: CREATED_AT,
        user: { id: ownerId ?? `u${n % 10}` },
      },
    };
  });
  return { edges, pageInfo: { hasNextPage: true, endCursor: edges.at(-1)?.cursor ?? null } };
}

function firstOf(args: Record<string, unknown>): number {
  const first = args['first'];
  return typeof first === 'number' ? Math.min(Math.max(first, 1), 100) : 20;
}

const resolvers: Record<SubgraphName, GraphQLResolverMap<unknown>> = {
  users: {
    Query: {
      me: () => userOf('u0'),
      user: (_: unknown, { id }: Reference) => userOf(id),
      users: (_: unknown, args: Record<string, unknown>) => {
        const edges = Array.from({ length: firstOf(args) }, (_, i) => ({
          cursor: `c${i}`,
          node: userOf(`u${i}`),
        }));
        return { edges, pageInfo: { hasNextPage: false, endCursor: null } };
      },
    },
    User: { __resolveReference: ({ id }: Reference) => userOf(id) },
  },
  orders: {
    Query: {
      order: (_: unknown, { id }: Reference) =>
        ordersFrom(Number(id.slice(1)) || 0, 1).edges[0]?.node,
      orders: (_: unknown, args: Record<string, unknown>) => ordersFrom(0, firstOf(args)),
    },
    Order: {
      __resolveReference: ({ id }: Reference) =>
        ordersFrom(Number(id.slice(1)) || 0, 1).edges[0]?.node,
    },
    User: {
      orders: ({ id }: Reference, args: Record<string, unknown>) =>
        ordersFrom(100, firstOf(args), id),
    },
  },
};

const counts: Record<SubgraphName, number> = { users: 0, orders: 0 };
const urls: Partial<Record<SubgraphName, string>> = {};
const servers: ApolloServer[] = [];

for (const name of SUBGRAPH_NAMES) {
  const sdl = readFileSync(
    new URL(`../../subgraphs/${name}/schema.graphql`, import.meta.url),
    'utf8',
  );
  const server = new ApolloServer({
    schema: buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: resolvers[name] }),
    stopOnTerminationSignals: false,
  });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: 0 },
    // Called once per HTTP request: what a gateway sent this subgraph.
    context: async () => {
      counts[name] += 1;
      return {};
    },
  });
  servers.push(server);
  urls[name] = url;
}

const countsServer = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(counts));
});
await new Promise<void>((resolve) => countsServer.listen(0, '127.0.0.1', resolve));
const address = countsServer.address();
if (address === null || typeof address === 'string') throw new Error('no TCP address');
const { port } = address;

const ready: SubgraphsReady = {
  users: urls.users ?? '',
  orders: urls.orders ?? '',
  counts: `http://127.0.0.1:${port}/counts`,
};
process.send?.(ready);

// The parent ends this process by closing the IPC channel (or dies and the channel closes).
process.on('disconnect', () => {
  countsServer.close();
  void Promise.all(servers.map((s) => s.stop())).then(() => process.exit(0));
});
