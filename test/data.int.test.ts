import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentity } from '@supergraph/identity';
import { createLogger } from '@supergraph/service-kit';
import { createOrderRepository } from '../subgraphs/orders/src/db/orders.js';
import { createPasswordHasher } from '../subgraphs/users/src/auth/passwords.js';
import { loadUsersConfig } from '../subgraphs/users/src/config.js';
import { seedUsers } from '../subgraphs/users/src/db/seed.js';
import { createUserRepository } from '../subgraphs/users/src/db/users.js';
import { at, expectError, expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';

/** Data rules of issue #2: unique usernames under concurrency, batched reads, hashes kept in. */
let graph: RunningGraph;
let admin: { token: string; userId: string };

const CREATE_USER = `mutation ($u: String!) {
  createUser(input: { username: $u, password: "long-enough" }) { id username }
}`;
const CREATE_ORDER = `mutation ($item: String!) {
  createOrder(input: { item: $item, address: "1 Main St" }) { id }
}`;

beforeAll(async () => {
  // Users with their orders (`users > edges > node > orders > edges > node > item`) is seven
  // fields deep, one over the router's default MAX_DEPTH: a deployment with such a view raises
  // the limit, as here.
  graph = await startGraph('data', { routerEnv: { MAX_DEPTH: '7' } });
  admin = await graph.login('admin', 'a');
});
afterAll(() => graph?.stop());

/** The `find` commands sent to one collection since `from` (an index into graph.commands). */
function findsOn(collection: string, from: number) {
  return graph.commands
    .slice(from)
    .filter((event) => event.commandName === 'find' && event.command['find'] === collection);
}

describe('createUser under concurrency', () => {
  it('lets exactly one of ten simultaneous creates of one username through', async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        graph.request(graph.routerUrl, CREATE_USER, {
          token: admin.token,
          variables: { u: 'racer' },
        }),
      ),
    );
    const created = responses.filter(
      (response) => at(response.body, ['createUser', 'username']) === 'racer',
    );
    expect(created).toHaveLength(1);
    const refused = responses.filter((response) => response !== created[0]);
    for (const response of refused)
      expectError(response, 'BAD_USER_INPUT', /"racer" is already taken/);
    expect(await graph.usersDb.collection('users').countDocuments({ username: 'racer' })).toBe(1);
  });

  it('treats usernames case-insensitively', async () => {
    const response = await graph.request(graph.routerUrl, CREATE_USER, {
      token: admin.token,
      variables: { u: 'RACER' },
    });
    expectError(response, 'BAD_USER_INPUT', /already taken/);
  });
});

describe('batching: one MongoDB query for N entity references', () => {
  const userIds: string[] = [];

  beforeAll(async () => {
    for (const name of ['batch-a', 'batch-b', 'batch-c', 'batch-d']) {
      const response = await graph.request(graph.routerUrl, CREATE_USER, {
        token: admin.token,
        variables: { u: name },
      });
      userIds.push(at(response.body, ['createUser', 'id']) as string);
      const { token } = await graph.login(name, 'long-enough');
      for (const item of ['one', 'two']) {
        expectOk(
          await graph.request(graph.routerUrl, CREATE_ORDER, {
            token,
            variables: { item: `${name}-${item}` },
          }),
        );
      }
    }
  });

  it('resolves N User references in one _entities call with one find', async () => {
    const from = graph.commands.length;
    const response = await graph.requestSubgraph(
      'users',
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username } } }',
      {
        identity: createIdentity(admin.userId, 'ADMIN'),
        variables: { r: userIds.map((id) => ({ __typename: 'User', id })) },
      },
    );
    const data = expectOk(response);
    expect((data['_entities'] as { username: string }[]).map((user) => user.username)).toEqual([
      'batch-a',
      'batch-b',
      'batch-c',
      'batch-d',
    ]);
    const finds = findsOn('users', from);
    expect(finds).toHaveLength(1);
    expect(finds[0]?.command['filter']).toHaveProperty('_id.$in');
  });

  it('resolves Order.user for a page of orders through the router with one find on users', async () => {
    const from = graph.commands.length;
    const data = expectOk(
      await graph.request(
        graph.routerUrl,
        '{ orders(first: 8) { edges { node { item user { username } } } } }',
        {
          token: admin.token,
        },
      ),
    );
    const edges = at({ data }, ['orders', 'edges']) as {
      node: { item: string; user: { username: string } };
    }[];
    expect(edges).toHaveLength(8);
    for (const { node } of edges) expect(node.item.startsWith(node.user.username)).toBe(true);
    expect(findsOn('users', from)).toHaveLength(1);
    expect(findsOn('orders', from)).toHaveLength(1);
  });

  it('resolves User.orders across many users with one bounded find per user and one on users', async () => {
    const from = graph.commands.length;
    const data = expectOk(
      await graph.request(
        graph.routerUrl,
        '{ users(first: 20) { edges { node { username orders(first: 5) { edges { node { item } } } } } } }',
        { token: admin.token },
      ),
    );
    const edges = at({ data }, ['users', 'edges']) as {
      node: { username: string; orders: { edges: { node: { item: string } }[] } };
    }[];
    const batchUser = edges.find((edge) => edge.node.username === 'batch-b');
    // Newest first.
    expect(batchUser?.node.orders.edges.map((edge) => edge.node.item)).toEqual([
      'batch-b-two',
      'batch-b-one',
    ]);
    // Each user's page reads at most what it asks for (`first` plus one, to tell whether there
    // is a next page), never every order of every user on the page.
    const finds = findsOn('orders', from);
    expect(finds).toHaveLength(edges.length);
    for (const find of finds) {
      expect(typeof (find.command['filter'] as { userId?: unknown } | undefined)?.userId).toBe(
        'string',
      );
      expect(find.command['limit']).toBe(6);
    }
    expect(findsOn('users', from)).toHaveLength(1);
  });

  it('pages orders with cursors, newest first, without repeats', async () => {
    const PAGE =
      'query ($after: String) { orders(first: 3, after: $after) { edges { node { id createdAt } } pageInfo { hasNextPage endCursor } } }';
    const seen: string[] = [];
    const times: number[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const data = expectOk(
        await graph.request(graph.routerUrl, PAGE, { token: admin.token, variables: { after } }),
      );
      const connection = data['orders'] as {
        edges: { node: { id: string; createdAt: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
      seen.push(...connection.edges.map((edge) => edge.node.id));
      times.push(...connection.edges.map((edge) => Date.parse(edge.node.createdAt)));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(8);
    expect(new Set(seen).size).toBe(8);
    // Newest first, by when each order was placed (order ids are random: they say nothing).
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });
});

describe('password hashes', () => {
  it('are stored as argon2id at OWASP parameters', async () => {
    const stored = await graph.usersDb.collection('users').findOne({ username: 'admin' });
    expect(stored?.['passwordHash']).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('are not a field of the graph', async () => {
    const response = await graph.request(graph.routerUrl, '{ me { passwordHash } }', {
      token: admin.token,
    });
    expectError(response, 'GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(response.body)).not.toContain('$argon2');
  });

  it('never appear in what createUser, updateUser, login or users return', async () => {
    const created = await graph.request(graph.routerUrl, CREATE_USER, {
      token: admin.token,
      variables: { u: 'hash-check' },
    });
    const responses = [
      created,
      await graph.request(
        graph.routerUrl,
        'mutation ($id: ID!) { updateUser(id: $id, input: { password: "a-new-password" }) { id username } }',
        { token: admin.token, variables: { id: at(created.body, ['createUser', 'id']) } },
      ),
      await graph.request(
        graph.routerUrl,
        'mutation { login(username: "hash-check", password: "a-new-password") { user { id username email } } }',
      ),
      await graph.request(
        graph.routerUrl,
        '{ users(first: 100) { edges { node { id username fullName email role createdAt } } } }',
        { token: admin.token },
      ),
    ];
    for (const response of responses) {
      expectOk(response);
      expect(JSON.stringify(response.body)).not.toMatch(/argon2|passwordHash/);
    }
  });
});

describe('start-up work is safe to repeat', () => {
  it('creates the indexes, and creating them again on a restart changes nothing', async () => {
    await createUserRepository(graph.usersDb).ensureIndexes();
    await createOrderRepository(graph.ordersDb).ensureIndexes();
    const userIndexes = await graph.usersDb.collection('users').listIndexes().toArray();
    expect(userIndexes).toContainEqual(
      expect.objectContaining({ name: 'username_unique', unique: true, key: { username: 1 } }),
    );
    const orderIndexes = (await graph.ordersDb.collection('orders').listIndexes().toArray()).map(
      (index) => index['name'],
    );
    expect(orderIndexes).toEqual(expect.arrayContaining(['user_newest_first', 'newest_first']));
  });

  it('seeds once: never duplicating, never overwriting later changes, never resurrecting', async () => {
    const users = graph.usersDb.collection('users');
    const repository = createUserRepository(graph.usersDb);
    const config = loadUsersConfig({
      MONGODB_URI: 'mongodb://unused',
      IDENTITY_SIGNING_SECRET: 'x'.repeat(32),
    });
    const logger = createLogger('test', 'silent');
    await users.updateOne({ username: 'user' }, { $set: { fullName: 'Changed Later' } });
    await users.deleteOne({ username: 'admin' });

    await seedUsers(graph.usersDb, repository, config.seeds, createPasswordHasher(), logger);
    await seedUsers(graph.usersDb, repository, config.seeds, createPasswordHasher(), logger);

    expect(await users.countDocuments({ username: 'user' })).toBe(1);
    expect(await users.findOne({ username: 'user' })).toMatchObject({ fullName: 'Changed Later' });
    expect(await users.countDocuments({ username: 'admin' })).toBe(0);
  });
});
