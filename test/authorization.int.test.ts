import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Supergraph } from '@apollo/federation-internals';
import {
  extendSchema,
  getNamedType,
  isInterfaceType,
  isObjectType,
  isTypeDefinitionNode,
  isTypeExtensionNode,
  isUnionType,
  parse,
  type ConstDirectiveNode,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { createIdentity, type Identity } from '@supergraph/identity';
import { prepareSupergraph } from '../router/src/supergraph.js';
import { at, expectDenied, expectOk } from './expect.js';
import { startGraph, type GraphQLResponse, type RunningGraph } from './graph.js';

/**
 * The whole authorization matrix (issues #2 and #4): every field and type that carries
 * `@authenticated`, `@requiresScopes` or `@policy` in the supergraph, for four callers
 * (anonymous, a user, another user, an admin), through the router and straight at the subgraph
 * that owns it, validly signed for that caller.
 *
 * The list of protected fields is read from supergraph.graphql, and the first test fails, naming
 * the field, when one has no case below: a new protected field cannot be left out.
 *
 * Through the router, `@authenticated` and `@requiresScopes` are decided by the router itself:
 * the field is taken out before any subgraph is asked (UNAUTHORIZED_FIELD_OR_TYPE, as Apollo
 * Router answers). `@policy` needs the data, so the subgraph decides (FORBIDDEN, or
 * UNAUTHENTICATED for nobody). Straight at a subgraph, the subgraph enforces all three itself.
 */
let graph: RunningGraph;
type Who = 'anonymous' | 'user' | 'other' | 'admin';
const CALLERS: readonly Who[] = ['anonymous', 'user', 'other', 'admin'];
interface Caller {
  token: string;
  id: string;
  identity: Identity;
}
let caller: Record<Exclude<Who, 'anonymous'>, Caller>;
/** Each caller's own order; the anonymous caller has none, and asks for the user's. */
let orderOf: Record<Who, string>;
let userOrderId: string;
let otherOrderId: string;

const CREATE_ORDER = `mutation ($item: String!) {
  createOrder(input: { item: $item, address: "1 Main St" }) { id item user { id } }
}`;

beforeAll(async () => {
  graph = await startGraph('authorization');
  const admin = await graph.login('admin', 'a');
  await graph.request(
    graph.routerUrl,
    `mutation { createUser(input: { username: "other", password: "other-password", email: "other@example.com" }) { id } }`,
    { token: admin.token },
  );
  const user = await graph.login('user', 'u');
  const other = await graph.login('other', 'other-password');
  const asCaller = ({ token, userId }: typeof admin, role: 'ADMIN' | 'USER'): Caller => ({
    token,
    id: userId,
    identity: createIdentity(userId, role),
  });
  caller = {
    admin: asCaller(admin, 'ADMIN'),
    user: asCaller(user, 'USER'),
    other: asCaller(other, 'USER'),
  };

  const place = async (who: Exclude<Who, 'anonymous'>, item: string) => {
    const response = await graph.request(graph.routerUrl, CREATE_ORDER, {
      token: caller[who].token,
      variables: { item },
    });
    const id = at(response.body, ['createOrder', 'id']);
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    return String(id);
  };
  userOrderId = await place('user', 'user-order');
  otherOrderId = await place('other', 'other-order');
  orderOf = {
    anonymous: userOrderId,
    user: userOrderId,
    other: otherOrderId,
    admin: await place('admin', 'admin-order'),
  };
});
afterAll(() => graph?.stop());

// ---------------------------------------------------------------------------------------------
// What the schema protects
// ---------------------------------------------------------------------------------------------

/**
 * `Type.field` (or `Type`, for a directive on the type) for everything that carries one of the
 * authorization directives in the supergraph, with the specs they come from. Their names are
 * the supergraph's `for: SECURITY` features, as the router reads them, so a renamed import
 * (`as:`) is still found.
 */
function protectedCoordinates(sdl: string): Map<string, string[]> {
  const document = parse(sdl);
  const names = new Map(
    prepareSupergraph(sdl).securityFeatures.map((feature) => [
      feature.directive,
      /\/([^/]+)\/v[\d.]+$/.exec(feature.url)?.[1] ?? feature.name,
    ]),
  );
  const found = new Map<string, string[]>();
  const note = (coordinate: string, directives: readonly ConstDirectiveNode[] | undefined) => {
    const specs = (directives ?? []).flatMap((d) => names.get(d.name.value) ?? []);
    if (specs.length > 0) found.set(coordinate, specs);
  };
  for (const definition of document.definitions) {
    if (!isTypeDefinitionNode(definition) && !isTypeExtensionNode(definition)) continue;
    note(definition.name.value, definition.directives);
    if ('fields' in definition) {
      for (const field of definition.fields ?? []) {
        note(`${definition.name.value}.${field.name.value}`, field.directives);
      }
    }
  }
  return found;
}

const SUPERGRAPH = readFileSync(new URL('../supergraph.graphql', import.meta.url), 'utf8');
const PROTECTED = protectedCoordinates(SUPERGRAPH);
const API_SCHEMA = Supergraph.build(prepareSupergraph(SUPERGRAPH).sdl)
  .apiSchema()
  .toGraphQLJSSchema();
/** Types a client can ask a subgraph for by key (`_entities`), besides the root types. */
const ENTITY_TYPES = parse(SUPERGRAPH)
  .definitions.filter(isTypeDefinitionNode)
  .filter((type) =>
    type.directives?.some(
      (d) => d.name.value === 'join__type' && d.arguments?.some((a) => a.name.value === 'key'),
    ),
  )
  .map((type) => type.name.value);

/**
 * Fields that reach protected data (a field or type in PROTECTED) while neither they nor any field
 * on the way from a root type or an entity has a case: a field added without a directive, that
 * returns a protected type, shows up here. The walk stops at fields with a case, which test what
 * lies behind them.
 */
function unguardedPaths(schema: GraphQLSchema): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const walk = (type: GraphQLNamedType | undefined) => {
    if (!type || seen.has(type.name)) return;
    seen.add(type.name);
    if (isUnionType(type)) return type.getTypes().forEach(walk);
    if (!isObjectType(type) && !isInterfaceType(type)) return;
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      if (coordinate in CASES) continue;
      const target = getNamedType(field.type);
      if (PROTECTED.has(coordinate) || PROTECTED.has(target.name)) found.push(coordinate);
      else walk(target);
    }
  };
  for (const name of ['Query', 'Mutation', ...ENTITY_TYPES]) walk(schema.getType(name));
  return found.sort();
}

// ---------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------

type Path = (string | number)[];
type Outcome =
  | { allowed: true; data: (who: Who) => unknown }
  | {
      allowed: false;
      path: Path;
      code: 'UNAUTHORIZED_FIELD_OR_TYPE' | 'UNAUTHENTICATED' | 'FORBIDDEN';
    };

/** Allowed: the response is exactly this data, with no error. */
const ok = (data: (who: Who) => unknown): Outcome => ({ allowed: true, data });
/** Taken out by the router before any subgraph is asked. */
const router = (...path: Path): Outcome => ({
  allowed: false,
  path,
  code: 'UNAUTHORIZED_FIELD_OR_TYPE',
});
const unauthenticated = (...path: Path): Outcome => ({
  allowed: false,
  path,
  code: 'UNAUTHENTICATED',
});
const forbidden = (...path: Path): Outcome => ({ allowed: false, path, code: 'FORBIDDEN' });

interface Operation {
  query: string;
  variables?: (who: Who) => Record<string, unknown> | Promise<Record<string, unknown>>;
  expect: Record<Who, Outcome>;
}

interface Case {
  /** The subgraph that owns the field, and enforces its rule when asked directly. */
  subgraph: 'users' | 'orders';
  /** An operation that reaches the field through the router. */
  router: Operation;
  /** An operation that reaches it straight at `subgraph` (a root field, or `_entities`). */
  direct: Operation;
  /** For mutations: what a denied caller must leave unchanged. */
  state?: () => Promise<unknown>;
}

const ENTITIES = 'query ($r: [_Any!]!) { _entities(representations: $r) {';
const usernames = async () =>
  (
    await graph.usersDb
      .collection('users')
      .find({}, { projection: { username: 1 } })
      .sort({ _id: 1 })
      .toArray()
  ).map((doc) => ({ node: { username: doc['username'] } }));
/** The orders `who` may list, newest first, straight from the database. */
const ordersVisibleTo = async (who: Who) => {
  const filter = who === 'admin' ? {} : { userId: who === 'anonymous' ? '' : caller[who].id };
  const docs = await graph.ordersDb
    .collection('orders')
    .find(filter)
    .sort({ createdAt: -1, _id: -1 })
    .toArray();
  return { edges: docs.map((doc) => ({ node: { id: doc._id.toHexString() } })) };
};
const idOf = (who: Who) => (who === 'anonymous' ? undefined : caller[who].id);
/** A user who exists only to be deleted; made by the admin through the router. */
async function throwawayUser(): Promise<string> {
  const username = `gone-${Math.random().toString(36).slice(2, 10)}`;
  const response = await graph.request(
    graph.routerUrl,
    'mutation ($u: String!) { createUser(input: { username: $u, password: "long-enough" }) { id } }',
    { token: caller.admin.token, variables: { u: username } },
  );
  return String(at(response.body, ['createUser', 'id']));
}
let made = 0;

/**
 * Keyed by schema coordinate. Read a row as: this operation, for each caller, gives this.
 */
const CASES: Record<string, Case> = {
  'Query.me': {
    subgraph: 'users',
    router: {
      query: '{ me { id } }',
      expect: {
        anonymous: router('me'),
        user: ok((who) => ({ me: { id: idOf(who) } })),
        other: ok((who) => ({ me: { id: idOf(who) } })),
        admin: ok((who) => ({ me: { id: idOf(who) } })),
      },
    },
    direct: {
      query: '{ me { id } }',
      expect: {
        anonymous: unauthenticated('me'),
        user: ok((who) => ({ me: { id: idOf(who) } })),
        other: ok((who) => ({ me: { id: idOf(who) } })),
        admin: ok((who) => ({ me: { id: idOf(who) } })),
      },
    },
  },

  'Query.user': {
    subgraph: 'users',
    router: {
      query: 'query ($id: ID!) { user(id: $id) { id username } }',
      variables: () => ({ id: caller.user.id }),
      expect: {
        anonymous: unauthenticated('user'),
        user: ok(() => ({ user: { id: caller.user.id, username: 'user' } })),
        other: forbidden('user'),
        admin: ok(() => ({ user: { id: caller.user.id, username: 'user' } })),
      },
    },
    direct: {
      query: 'query ($id: ID!) { user(id: $id) { id username } }',
      variables: () => ({ id: caller.user.id }),
      expect: {
        anonymous: unauthenticated('user'),
        user: ok(() => ({ user: { id: caller.user.id, username: 'user' } })),
        other: forbidden('user'),
        admin: ok(() => ({ user: { id: caller.user.id, username: 'user' } })),
      },
    },
  },

  'Query.users': {
    subgraph: 'users',
    router: {
      query: '{ users(first: 100) { edges { node { username } } } }',
      expect: {
        anonymous: router('users'),
        user: router('users'),
        other: router('users'),
        admin: ok(async () => ({ users: { edges: await usernames() } })),
      },
    },
    direct: {
      query: '{ users(first: 100) { edges { node { username } } } }',
      expect: {
        anonymous: unauthenticated('users'),
        user: forbidden('users'),
        other: forbidden('users'),
        admin: ok(async () => ({ users: { edges: await usernames() } })),
      },
    },
  },

  // Each caller asks for their own order: `@authenticated` is all that Query.order adds.
  'Query.order': {
    subgraph: 'orders',
    router: {
      query: 'query ($id: ID!) { order(id: $id) { id } }',
      variables: (who) => ({ id: orderOf[who] }),
      expect: {
        anonymous: router('order'),
        user: ok((who) => ({ order: { id: orderOf[who] } })),
        other: ok((who) => ({ order: { id: orderOf[who] } })),
        admin: ok((who) => ({ order: { id: orderOf[who] } })),
      },
    },
    direct: {
      query: 'query ($id: ID!) { order(id: $id) { id } }',
      variables: (who) => ({ id: orderOf[who] }),
      expect: {
        anonymous: unauthenticated('order'),
        user: ok((who) => ({ order: { id: orderOf[who] } })),
        other: ok((who) => ({ order: { id: orderOf[who] } })),
        admin: ok((who) => ({ order: { id: orderOf[who] } })),
      },
    },
  },

  // Everyone asks for the user's order: only its owner and admins may see an Order.
  Order: {
    subgraph: 'orders',
    router: {
      query: 'query ($id: ID!) { order(id: $id) { id item user { id } } }',
      variables: () => ({ id: userOrderId }),
      expect: {
        anonymous: router('order'),
        user: ok(() => ({
          order: { id: userOrderId, item: 'user-order', user: { id: caller.user.id } },
        })),
        // As a missing order would be (issue #11): a FORBIDDEN would tell which ids are orders.
        other: ok(() => ({ order: null })),
        admin: ok(() => ({
          order: { id: userOrderId, item: 'user-order', user: { id: caller.user.id } },
        })),
      },
    },
    direct: {
      query: `${ENTITIES} ... on Order { id item } } }`,
      variables: () => ({ r: [{ __typename: 'Order', id: userOrderId }] }),
      expect: {
        anonymous: unauthenticated('_entities', 0),
        user: ok(() => ({ _entities: [{ id: userOrderId, item: 'user-order' }] })),
        other: forbidden('_entities', 0),
        admin: ok(() => ({ _entities: [{ id: userOrderId, item: 'user-order' }] })),
      },
    },
  },

  // A USER sees their own orders, an ADMIN all of them; compared with the database.
  'Query.orders': {
    subgraph: 'orders',
    router: {
      query: '{ orders(first: 100) { edges { node { id } } } }',
      expect: {
        anonymous: router('orders'),
        user: ok(async (who) => ({ orders: await ordersVisibleTo(who) })),
        other: ok(async (who) => ({ orders: await ordersVisibleTo(who) })),
        admin: ok(async (who) => ({ orders: await ordersVisibleTo(who) })),
      },
    },
    direct: {
      query: '{ orders(first: 100) { edges { node { id } } } }',
      expect: {
        anonymous: unauthenticated('orders'),
        user: ok(async (who) => ({ orders: await ordersVisibleTo(who) })),
        other: ok(async (who) => ({ orders: await ordersVisibleTo(who) })),
        admin: ok(async (who) => ({ orders: await ordersVisibleTo(who) })),
      },
    },
  },

  // Through the router a User is reached by Query.user, whose own policy stops a stranger first;
  // straight at the users subgraph, `_entities` reaches User.email alone.
  'User.email': {
    subgraph: 'users',
    router: {
      query: 'query ($id: ID!) { user(id: $id) { id email } }',
      variables: () => ({ id: caller.other.id }),
      expect: {
        anonymous: unauthenticated('user'),
        user: forbidden('user'),
        other: ok(() => ({ user: { id: caller.other.id, email: 'other@example.com' } })),
        admin: ok(() => ({ user: { id: caller.other.id, email: 'other@example.com' } })),
      },
    },
    direct: {
      query: `${ENTITIES} ... on User { id email } } }`,
      variables: () => ({ r: [{ __typename: 'User', id: caller.other.id }] }),
      expect: {
        anonymous: unauthenticated('_entities', 0, 'email'),
        user: forbidden('_entities', 0, 'email'),
        other: ok(() => ({ _entities: [{ id: caller.other.id, email: 'other@example.com' }] })),
        admin: ok(() => ({ _entities: [{ id: caller.other.id, email: 'other@example.com' }] })),
      },
    },
  },

  // Joined across subgraphs: Query.user from users, User.orders from orders.
  'User.orders': {
    subgraph: 'orders',
    router: {
      query:
        'query ($id: ID!) { user(id: $id) { username orders(first: 100) { edges { node { id } } } } }',
      variables: () => ({ id: caller.other.id }),
      expect: {
        anonymous: unauthenticated('user'),
        user: forbidden('user'),
        other: ok(async () => ({
          user: { username: 'other', orders: await ordersVisibleTo('other') },
        })),
        admin: ok(async () => ({
          user: { username: 'other', orders: await ordersVisibleTo('other') },
        })),
      },
    },
    direct: {
      query: `${ENTITIES} ... on User { id orders(first: 100) { edges { node { id } } } } } }`,
      variables: () => ({ r: [{ __typename: 'User', id: caller.other.id }] }),
      expect: {
        anonymous: unauthenticated('_entities', 0, 'orders'),
        user: forbidden('_entities', 0, 'orders'),
        other: ok(async () => ({
          _entities: [{ id: caller.other.id, orders: await ordersVisibleTo('other') }],
        })),
        admin: ok(async () => ({
          _entities: [{ id: caller.other.id, orders: await ordersVisibleTo('other') }],
        })),
      },
    },
  },

  'Mutation.createOrder': {
    subgraph: 'orders',
    state: () => graph.ordersDb.collection('orders').countDocuments(),
    router: {
      query: CREATE_ORDER.replace('id item', 'item'),
      variables: (who) => ({ item: `by ${who} via router` }),
      expect: {
        // `createOrder: Order!` is non-null, so the whole data is null.
        anonymous: router('createOrder'),
        user: ok((who) => ({
          createOrder: { item: `by ${who} via router`, user: { id: idOf(who) } },
        })),
        other: ok((who) => ({
          createOrder: { item: `by ${who} via router`, user: { id: idOf(who) } },
        })),
        admin: ok((who) => ({
          createOrder: { item: `by ${who} via router`, user: { id: idOf(who) } },
        })),
      },
    },
    direct: {
      query: CREATE_ORDER.replace('id item', 'item'),
      variables: (who) => ({ item: `by ${who} directly` }),
      expect: {
        anonymous: unauthenticated('createOrder'),
        user: ok((who) => ({
          createOrder: { item: `by ${who} directly`, user: { id: idOf(who) } },
        })),
        other: ok((who) => ({
          createOrder: { item: `by ${who} directly`, user: { id: idOf(who) } },
        })),
        admin: ok((who) => ({
          createOrder: { item: `by ${who} directly`, user: { id: idOf(who) } },
        })),
      },
    },
  },

  'Mutation.createUser': {
    subgraph: 'users',
    state: () => graph.usersDb.collection('users').countDocuments(),
    router: {
      query:
        'mutation ($u: String!) { createUser(input: { username: $u, password: "long-enough" }) { role } }',
      variables: () => ({ u: `made-${(made += 1)}` }),
      expect: {
        anonymous: router('createUser'),
        user: router('createUser'),
        other: router('createUser'),
        admin: ok(() => ({ createUser: { role: 'USER' } })),
      },
    },
    direct: {
      query:
        'mutation ($u: String!) { createUser(input: { username: $u, password: "long-enough" }) { role } }',
      variables: () => ({ u: `made-${(made += 1)}` }),
      expect: {
        anonymous: unauthenticated('createUser'),
        user: forbidden('createUser'),
        other: forbidden('createUser'),
        admin: ok(() => ({ createUser: { role: 'USER' } })),
      },
    },
  },

  // Everyone tries to rename the user: the user themself and an admin may.
  'Mutation.updateUser': {
    subgraph: 'users',
    state: () => graph.usersDb.collection('users').findOne({ username: 'user' }),
    router: {
      query:
        'mutation ($id: ID!, $name: String!) { updateUser(id: $id, input: { fullName: $name }) { fullName role } }',
      variables: (who) => ({ id: caller.user.id, name: `named by ${who}` }),
      expect: {
        anonymous: unauthenticated('updateUser'),
        user: ok((who) => ({ updateUser: { fullName: `named by ${who}`, role: 'USER' } })),
        other: forbidden('updateUser'),
        admin: ok((who) => ({ updateUser: { fullName: `named by ${who}`, role: 'USER' } })),
      },
    },
    direct: {
      query:
        'mutation ($id: ID!, $name: String!) { updateUser(id: $id, input: { fullName: $name }) { fullName role } }',
      variables: (who) => ({ id: caller.user.id, name: `named by ${who} directly` }),
      expect: {
        anonymous: unauthenticated('updateUser'),
        user: ok((who) => ({ updateUser: { fullName: `named by ${who} directly`, role: 'USER' } })),
        other: forbidden('updateUser'),
        admin: ok((who) => ({
          updateUser: { fullName: `named by ${who} directly`, role: 'USER' },
        })),
      },
    },
  },

  'Mutation.deleteUser': {
    subgraph: 'users',
    state: () => graph.usersDb.collection('users').countDocuments(),
    router: {
      query: 'mutation ($id: ID!) { deleteUser(id: $id) }',
      variables: async () => ({ id: await throwawayUser() }),
      expect: {
        anonymous: router('deleteUser'),
        user: router('deleteUser'),
        other: router('deleteUser'),
        admin: ok(() => ({ deleteUser: true })),
      },
    },
    direct: {
      query: 'mutation ($id: ID!) { deleteUser(id: $id) }',
      variables: async () => ({ id: await throwawayUser() }),
      expect: {
        anonymous: unauthenticated('deleteUser'),
        user: forbidden('deleteUser'),
        other: forbidden('deleteUser'),
        admin: ok(() => ({ deleteUser: true })),
      },
    },
  },
};

describe('the matrix covers the schema', () => {
  it('has a case for every field and type with @authenticated, @requiresScopes or @policy', () => {
    // Guards the guard: the supergraph does carry these directives, so an empty list is a bug.
    expect(PROTECTED.size).toBeGreaterThan(0);
    const missing = [...PROTECTED]
      .filter(([coordinate]) => !(coordinate in CASES))
      .map(([coordinate, specs]) => `${coordinate} (@${specs.join(', @')})`);
    expect(missing, `add a case to CASES for: ${missing.join(', ')}`).toEqual([]);
  });

  it('has a case on every way to protected data: no field without one leads to a protected field or type', () => {
    expect(unguardedPaths(API_SCHEMA)).toEqual([]);
    // Guards the guard: a new field that returns a protected type, with no directive of its own
    // and no case, is reported.
    const extended = extendSchema(
      API_SCHEMA,
      parse('extend type Query { latestOrder: Order } extend type User { lastOrder: Order }'),
    );
    expect(unguardedPaths(extended)).toEqual(['Query.latestOrder', 'User.lastOrder']);
  });

  it('has no case for a coordinate the schema does not protect (a renamed or removed field)', () => {
    const stale = Object.keys(CASES).filter((coordinate) => !PROTECTED.has(coordinate));
    expect(stale).toEqual([]);
  });
});

/** Subgraph requests made while `run` runs, by subgraph. */
async function counting<T>(run: () => Promise<T>): Promise<[T, { users: number; orders: number }]> {
  const before = {
    users: graph.subgraphRequests.users.length,
    orders: graph.subgraphRequests.orders.length,
  };
  const result = await run();
  return [
    result,
    {
      users: graph.subgraphRequests.users.length - before.users,
      orders: graph.subgraphRequests.orders.length - before.orders,
    },
  ];
}

async function check(response: GraphQLResponse, outcome: Outcome, who: Who): Promise<void> {
  if (outcome.allowed) {
    expect(expectOk(response)).toEqual(await outcome.data(who));
    return;
  }
  expect(response.status).toBe(200);
  expect(response.body.errors, JSON.stringify(response.body)).toHaveLength(1);
  const [error] = response.body.errors ?? [];
  expect(error?.path).toEqual(outcome.path);
  expect(error?.extensions?.['code'], JSON.stringify(error)).toBe(outcome.code);
  expect(error?.message).toMatch(/\S/);
  if (response.body.data !== null) expect(at(response.body, outcome.path)).toBeNull();
}

describe.each(Object.entries(CASES))('%s', (_coordinate, rule) => {
  describe('through the router', () => {
    it.each(CALLERS)('as %s', async (who) => {
      const outcome = rule.router.expect[who];
      const variables = (await rule.router.variables?.(who)) ?? {};
      const before = await rule.state?.();
      const [response, sent] = await counting(() =>
        graph.request(graph.routerUrl, rule.router.query, {
          ...(who === 'anonymous' ? {} : { token: caller[who].token }),
          variables,
        }),
      );
      await check(response, outcome, who);
      if (!outcome.allowed && outcome.code === 'UNAUTHORIZED_FIELD_OR_TYPE') {
        // Decided by the router: the operation holds nothing else, so no subgraph is asked.
        expect(sent).toEqual({ users: 0, orders: 0 });
      } else {
        // Decided by a subgraph (or allowed): the request went out.
        expect(sent.users + sent.orders).toBeGreaterThan(0);
      }
      if (!outcome.allowed && rule.state) expect(await rule.state()).toEqual(before);
    });
  });

  describe(`straight at the ${rule.subgraph} subgraph, signed for the caller`, () => {
    it.each(CALLERS)('as %s', async (who) => {
      const outcome = rule.direct.expect[who];
      const variables = (await rule.direct.variables?.(who)) ?? {};
      const before = await rule.state?.();
      const response = await graph.requestSubgraph(rule.subgraph, rule.direct.query, {
        identity: who === 'anonymous' ? null : caller[who].identity,
        variables,
      });
      // Router-level codes never come from a subgraph.
      expect(outcome.allowed || outcome.code !== 'UNAUTHORIZED_FIELD_OR_TYPE').toBe(true);
      await check(response, outcome, who);
      if (!outcome.allowed && rule.state) expect(await rule.state()).toEqual(before);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Rules the matrix cannot express in one row
// ---------------------------------------------------------------------------------------------

describe('beyond the matrix', () => {
  const query = (q: string, token?: string, variables?: Record<string, unknown>) =>
    graph.request(graph.routerUrl, q, {
      ...(token ? { token } : {}),
      ...(variables ? { variables } : {}),
    });

  it('gives a user their own orders through me, joined across subgraphs', async () => {
    const data = expectOk(
      await query(
        '{ me { username orders(first: 5) { edges { node { id item } } } } }',
        caller.user.token,
      ),
    );
    expect(at({ data }, ['me', 'username'])).toBe('user');
    const items = (
      at({ data }, ['me', 'orders', 'edges']) as { node: { id: string; item: string } }[]
    ).map((edge) => edge.node);
    expect(items).toContainEqual({ id: userOrderId, item: 'user-order' });
    expect(items.map((node) => node.id)).not.toContain(otherOrderId);
  });

  it('lets the owner follow Order.user back to themself', async () => {
    const data = expectOk(
      await query(
        'query ($id: ID!) { order(id: $id) { user { id username } } }',
        caller.user.token,
        { id: userOrderId },
      ),
    );
    expect(data).toEqual({ order: { user: { id: caller.user.id, username: 'user' } } });
  });

  it('lets a user read their own email through login, before they hold a token', async () => {
    const data = expectOk(
      await query(
        'mutation { login(username: "other", password: "other-password") { user { email } } }',
      ),
    );
    expect(data).toEqual({ login: { user: { email: 'other@example.com' } } });
  });

  const UPDATE =
    'mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { fullName role } }';
  it('never lets a user change their own role', async () => {
    expectDenied(
      await query(UPDATE, caller.user.token, { id: caller.user.id, input: { role: 'ADMIN' } }),
      ['updateUser'],
      'FORBIDDEN',
    );
    expect(await graph.usersDb.collection('users').findOne({ username: 'user' })).toMatchObject({
      role: 'USER',
    });
  });

  it('lets an admin change anyone’s role', async () => {
    const made = await throwawayUser();
    expect(
      expectOk(await query(UPDATE, caller.admin.token, { id: made, input: { role: 'ADMIN' } })),
    ).toEqual({ updateUser: { fullName: null, role: 'ADMIN' } });
  });

  it('deleteUser answers false for a user who is already gone', async () => {
    const id = await throwawayUser();
    const DELETE = 'mutation ($id: ID!) { deleteUser(id: $id) }';
    expect(expectOk(await query(DELETE, caller.admin.token, { id }))).toEqual({ deleteUser: true });
    expect(expectOk(await query(DELETE, caller.admin.token, { id }))).toEqual({
      deleteUser: false,
    });
  });

  it('denies only what it must: another user still gets the public fields of a User', async () => {
    const response = await graph.requestSubgraph(
      'users',
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username email } } }',
      {
        identity: caller.other.identity,
        variables: { r: [{ __typename: 'User', id: caller.admin.id }] },
      },
    );
    expectDenied(response, ['_entities', 0, 'email'], 'FORBIDDEN');
    expect(at(response.body, ['_entities', 0])).toEqual({
      id: caller.admin.id,
      username: 'admin',
      email: null,
    });
  });
});
