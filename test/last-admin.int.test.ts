import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';

/** The graph keeps an admin: none could be made again without one. */
let graph: RunningGraph;
beforeAll(async () => {
  graph = await startGraph('last_admin');
});
afterAll(() => graph?.stop());

const SET_ROLE =
  'mutation ($id: ID!, $role: Role!) { updateUser(id: $id, input: { role: $role }) { role } }';
const admins = () => graph.usersDb.collection('users').countDocuments({ role: 'ADMIN' });

describe('the last admin', () => {
  it('cannot demote themself, and keeps the role', async () => {
    const admin = await graph.login('admin', 'a');
    const response = await graph.request(graph.routerUrl, SET_ROLE, {
      token: admin.token,
      variables: { id: admin.userId, role: 'USER' },
    });
    expectError(response, 'BAD_USER_INPUT', /last admin/);
    expect(await admins()).toBe(1);
  });

  it('two admins demoting each other at once: an admin is left', async () => {
    const admin = await graph.login('admin', 'a');
    const created = expectOk(
      await graph.request(
        graph.routerUrl,
        'mutation { createUser(input: { username: "second-admin", password: "second-password", role: ADMIN }) { id } }',
        { token: admin.token },
      ),
    );
    const secondId = String((created['createUser'] as { id: string }).id);
    const second = await graph.login('second-admin', 'second-password');
    await Promise.all([
      graph.request(graph.routerUrl, SET_ROLE, {
        token: admin.token,
        variables: { id: secondId, role: 'USER' },
      }),
      graph.request(graph.routerUrl, SET_ROLE, {
        token: second.token,
        variables: { id: admin.userId, role: 'USER' },
      }),
    ]);
    expect(await admins()).toBeGreaterThanOrEqual(1);
  });
});
