import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  parseRevocationList,
  REVOCATIONS_AUDIENCE,
  REVOCATIONS_PATH,
  signRequest,
} from '@supergraph/identity';
import { createMongoClient, SWEEP_BATCH_SIZE } from '@supergraph/service-kit';
import { createRevocationRepository } from '../subgraphs/users/src/db/revocations.js';
import { startGraph, type RunningGraph } from './graph.js';

/**
 * Issue #11: the revocation list at 12,000 and 35,000 entries. Before, `GET /revocations`
 * answered the whole list at every fetch (6-11 s at 60,000, past the router's timeout, so a
 * logged-out token was accepted for 44 s), and the sweep deleted everything expired in one
 * `deleteMany`, which FerretDB's SQLite backend refuses past about 30,000 documents.
 */
let graph: RunningGraph;

beforeAll(async () => {
  graph = await startGraph('revocation_scale', { routerEnv: { REVOCATION_REFRESH_MS: '0' } });
});
afterAll(() => graph?.stop());

/** A page of the list, fetched as a router fetches it. */
async function fetchList(since?: string) {
  const url = new URL(REVOCATIONS_PATH, graph.usersUrl);
  if (since !== undefined) url.searchParams.set('since', since);
  const response = await fetch(url, {
    headers: signRequest({
      secret: graph.identitySecret,
      audience: REVOCATIONS_AUDIENCE,
      userId: undefined,
      role: undefined,
      body: '',
    }),
  });
  expect(response.status).toBe(200);
  return parseRevocationList(await response.json());
}

/** Revocation documents, as users writes them, a few hundred at a time. */
async function insertRevocations(prefix: string, count: number, at: Date): Promise<void> {
  const revocations = graph.usersDb.collection<{ _id: string; sid: string; upTo: null; at: Date }>(
    'revocations',
  );
  for (let start = 0; start < count; start += 200) {
    await revocations.insertMany(
      Array.from({ length: Math.min(200, count - start) }, (_, i) => {
        const sid = `${prefix}-${start + i}`;
        return { _id: `${sid}:all`, sid, upTo: null, at };
      }),
    );
  }
}

describe('the revocation list at scale', () => {
  it('comes in pages, and a router then fetches only what is new', async () => {
    // 12,000 sessions ended five minutes ago.
    await insertRevocations('scale', 12_000, new Date(Date.now() - 5 * 60_000));
    const pages: number[] = [];
    let cursor: string | undefined;
    const seen = new Set<string>();
    for (let page = 0; page < 10; page += 1) {
      const list = await fetchList(cursor);
      expect(list).not.toBeNull();
      if (!list) break;
      pages.push(list.sessions.length);
      for (const { sid } of list.sessions) seen.add(sid);
      cursor = list.cursor;
      if (!list.more) break;
    }
    expect(pages.slice(0, 2)).toEqual([5_000, 5_000]);
    expect(pages.length).toBe(3);
    expect(seen.size).toBeGreaterThanOrEqual(12_000);
    // The next fetch brings only the last few seconds again, not the 12,000.
    const next = await fetchList(cursor);
    expect(next?.more).toBe(false);
    expect(next?.sessions.filter(({ sid }) => sid.startsWith('scale-'))).toEqual([]);
    // A logout after that is in it.
    const session = await graph.login('user', 'u');
    await graph.request(graph.routerUrl, 'mutation ($t: String!) { logout(refreshToken: $t) }', {
      variables: { t: session.refreshToken },
    });
    expect((await fetchList(cursor))?.sessions.map(({ sid }) => sid)).toContain(
      decodeJwt(session.token)['sid'],
    );
    const me = await graph.request(graph.routerUrl, '{ me { id } }', { token: session.token });
    expect(me.status).toBe(401);
  }, 120_000);

  it('is swept of what has expired a few hundred ids at a time, never all at once', async () => {
    // FerretDB's SQLite backend refuses one delete of about 30,000 documents, and takes over a
    // second for any delete in a collection that size: each delete must name a bounded batch.
    const old = new Date(Date.now() - 2 * 60 * 60_000);
    await insertRevocations('expired', 2_600, old);
    const deletes: unknown[] = [];
    const client = createMongoClient(inject('mongodbUri'), { monitorCommands: true });
    client.on('commandStarted', (event) => {
      if (event.commandName === 'delete') deletes.push(event.command['deletes']);
    });
    try {
      const db = client.db(graph.usersDb.databaseName);
      await createRevocationRepository(db).deleteOlderThan(new Date(Date.now() - 60 * 60_000));
      expect(await db.collection('revocations').countDocuments({ at: old })).toBe(0);
    } finally {
      await client.close();
    }
    expect(deletes.length).toBeGreaterThanOrEqual(2_600 / SWEEP_BATCH_SIZE);
    for (const statements of deletes) {
      const ids = (statements as { q: { _id?: { $in?: unknown[] } } }[])[0]?.q._id?.$in;
      expect(ids?.length).toBeLessThanOrEqual(SWEEP_BATCH_SIZE);
    }
  }, 120_000);
});
