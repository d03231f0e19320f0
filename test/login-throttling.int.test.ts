import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from './expect.js';
import { startGraph, type GraphQLResponse, type RunningGraph } from './graph.js';

/**
 * Login throttling (issue #4): failed logins are limited per username and per client address,
 * with exponential backoff, in state that every users replica shares, and the refusal says
 * nothing about whether the account exists.
 *
 * The routers trust one proxy hop, so each test sends its own X-Forwarded-For and gets an
 * address of its own: the per-address limit of one test never trips another.
 */
let graph: RunningGraph;
/** Lockouts of 1 s doubling to 4 s, so that a test can wait one out. */
let quick: RunningGraph;
/** No trusted proxy: X-Forwarded-For must be ignored. At most 3 failures per address. */
let direct: RunningGraph;
/** At most 3 successful logins per address. */
let bounded: RunningGraph;

beforeAll(async () => {
  [graph, quick, direct, bounded] = await Promise.all([
    // Enough password slots for the bursts below to race for real: they test counting, not
    // load shedding (login-flood.int.test.ts does).
    startGraph('login_throttling', {
      routerEnv: { TRUSTED_PROXY_HOPS: '1' },
      usersEnv: { PASSWORD_HASH_CONCURRENCY: '32' },
    }),
    startGraph('login_throttling_quick', {
      routerEnv: { TRUSTED_PROXY_HOPS: '1' },
      usersEnv: { LOGIN_LOCKOUT_SECONDS: '1', LOGIN_MAX_LOCKOUT_SECONDS: '4' },
    }),
    startGraph('login_throttling_direct', { usersEnv: { LOGIN_MAX_FAILURES_PER_IP: '3' } }),
    startGraph('login_throttling_bounded', {
      routerEnv: { TRUSTED_PROXY_HOPS: '1' },
      usersEnv: { LOGIN_MAX_PER_IP: '3' },
    }),
  ]);
});
afterAll(() => Promise.all([graph?.stop(), quick?.stop(), direct?.stop(), bounded?.stop()]));

const LOGIN =
  'mutation ($u: String!, $p: String!, $d: String) { login(username: $u, password: $p, deviceToken: $d) { accessToken deviceToken } }';
const WRONG = 'not-the-password';
const PASSWORD = 'the-right-password';

function login(
  username: string,
  password: string,
  ip: string | undefined,
  {
    on = graph,
    url = on.routerUrl,
    deviceToken = null,
  }: { on?: RunningGraph; url?: string; deviceToken?: string | null } = {},
): Promise<GraphQLResponse> {
  return on.request(url, LOGIN, {
    variables: { u: username, p: password, d: deviceToken },
    headers: ip === undefined ? {} : { 'x-forwarded-for': ip },
  });
}

function codeOf(response: GraphQLResponse): unknown {
  expect(response.status).toBe(200);
  return response.body.errors ? response.body.errors[0]?.extensions?.['code'] : 'OK';
}

/** LOGIN_THROTTLED at `login`, no data, and a wait of 1 to `maxSeconds` seconds, also in the message. */
function expectThrottled(response: GraphQLResponse, maxSeconds: number, path = ['login']): number {
  expect(response.status).toBe(200);
  expect(response.body.data, JSON.stringify(response.body)).toBeNull();
  expect(response.body.errors).toHaveLength(1);
  const [error] = response.body.errors ?? [];
  expect(error?.path).toEqual(path);
  expect(error?.extensions?.['code']).toBe('LOGIN_THROTTLED');
  const retryAfter = error?.extensions?.['retryAfterSeconds'];
  if (typeof retryAfter !== 'number')
    throw new Error(`no retryAfterSeconds: ${JSON.stringify(error)}`);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
  expect(error?.message).toContain(`${retryAfter} seconds`);
  return retryAfter;
}

const adminTokens = new Map<RunningGraph, string>();
/** A user of one's own with PASSWORD, so that no two tests share a username. */
async function newUser(username: string, on = graph): Promise<string> {
  let token = adminTokens.get(on);
  if (!token) {
    token = (await on.login('admin', 'a')).token;
    adminTokens.set(on, token);
  }
  expectOk(
    await on.request(
      on.routerUrl,
      'mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }',
      {
        token,
        variables: { i: { username, password: PASSWORD } },
      },
    ),
  );
  return username;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('per username', () => {
  it('refuses even the right password after five wrong ones, and says when to try again', async () => {
    const name = await newUser('throttle-alice');
    for (let i = 0; i < 5; i += 1) {
      expect(codeOf(await login(name, WRONG, '203.0.113.1'))).toBe('UNAUTHENTICATED');
    }
    const first = expectThrottled(await login(name, PASSWORD, '203.0.113.1'), 30);
    expect(first).toBeGreaterThanOrEqual(25);
    // From another address too: the lock is on the username.
    expectThrottled(await login(name, PASSWORD, '203.0.113.2'), 30);
    // Knocking on a locked door does not move the promised time.
    const again = expectThrottled(await login(name, WRONG, '203.0.113.1'), 30);
    expect(again).toBeLessThanOrEqual(first);
  });

  it('answers an unknown username exactly as it answers an existing one', async () => {
    const existing = await newUser('throttle-bob');
    const unknown = 'throttle-nobody';
    const shape = (response: GraphQLResponse) =>
      JSON.stringify({ status: response.status, body: response.body }).replace(/\d+/g, 'N');
    for (let i = 0; i < 7; i += 1) {
      const [a, b] = await Promise.all([
        login(existing, WRONG, '203.0.113.11'),
        login(unknown, WRONG, '203.0.113.12'),
      ]);
      expect(shape(a)).toBe(shape(b));
      expect(codeOf(a)).toBe(i < 5 ? 'UNAUTHENTICATED' : 'LOGIN_THROTTLED');
      if (i >= 5) {
        expect(Math.abs(expectThrottled(a, 30) - expectThrottled(b, 30))).toBeLessThanOrEqual(1);
      }
    }
  });

  it('counts attempts made in parallel before judging any of them', async () => {
    // The races that a check-then-count loses (all pass) and a count-then-check loses (all
    // refuse one another): fifteen attempts in flight at once, each from its own address, check
    // exactly the username's five passwords between them.
    const name = await newUser('throttle-carol');
    const responses = await Promise.all(
      Array.from({ length: 15 }, (_, i) => login(name, WRONG, `198.51.100.${i + 1}`)),
    );
    const codes = responses.map(codeOf);
    expect(
      codes.filter((code) => code === 'UNAUTHENTICATED'),
      JSON.stringify(codes),
    ).toHaveLength(5);
    expect(codes.filter((code) => code === 'LOGIN_THROTTLED')).toHaveLength(10);
    // Attempts refused in the race checked nothing and added nothing: the lockout is the first.
    expect(expectThrottled(await login(name, PASSWORD, '198.51.100.99'), 30)).toBeGreaterThan(25);
  });

  it('refuses a request with several logins before it checks any password', async () => {
    const name = await newUser('throttle-dave');
    const aliased = (password: string) =>
      `mutation { ${Array.from(
        { length: 15 },
        (_, i) => `a${i}: login(username: "${name}", password: "${password}") { accessToken }`,
      ).join(' ')} }`;
    for (let i = 0; i < 6; i += 1) {
      const response = await graph.request(graph.routerUrl, aliased(WRONG), {
        headers: { 'x-forwarded-for': '203.0.113.21' },
      });
      expect(response.status).toBe(400);
      expect(response.body.errors).toMatchObject([
        { extensions: { code: 'ONCE_PER_REQUEST_LIMIT', limit: 1, found: 15 } },
      ]);
    }
    // None of them counted: no password was checked.
    expect(codeOf(await login(name, PASSWORD, '203.0.113.21'))).toBe('OK');
  });

  it('keeps counting after a right password, so a lock never tells whether a guess was right', async () => {
    // Five attempts each from unknown devices: four wrong and one right, or five wrong. Someone
    // probing later, from elsewhere, finds both usernames locked alike.
    const [right, wrong] = [await newUser('throttle-erin'), await newUser('throttle-erin-2')];
    for (let i = 0; i < 4; i += 1) {
      expect(codeOf(await login(right, WRONG, '203.0.113.31'))).toBe('UNAUTHENTICATED');
      expect(codeOf(await login(wrong, WRONG, '203.0.113.32'))).toBe('UNAUTHENTICATED');
    }
    expect(codeOf(await login(right, PASSWORD, '203.0.113.31'))).toBe('OK');
    expect(codeOf(await login(wrong, WRONG, '203.0.113.32'))).toBe('UNAUTHENTICATED');
    const [a, b] = [
      await login(right, WRONG, '203.0.113.33'),
      await login(wrong, WRONG, '203.0.113.34'),
    ];
    expect(Math.abs(expectThrottled(a, 30) - expectThrottled(b, 30))).toBeLessThanOrEqual(1);
    const shape = (response: GraphQLResponse) => JSON.stringify(response.body).replace(/\d+/g, 'N');
    expect(shape(a)).toBe(shape(b));
  });
});

describe('logins in flight together', () => {
  /**
   * Reads of `username`'s credentials so far: one for each password checked, and one more for
   * each login that succeeds (to start its session).
   */
  const credentialReads = (username: string, on = graph) =>
    on.commands.filter(
      ({ commandName, command }) =>
        commandName === 'find' &&
        command['find'] === 'users' &&
        (command['filter'] as { username?: unknown } | undefined)?.username === username,
    ).length;
  /** A response without the numbers in it: what two refusals have in common. */
  const shape = (response: GraphQLResponse) => JSON.stringify(response.body).replace(/\d+/g, 'N');

  /**
   * Logins with the right password, all in flight at once, each from its own address: the
   * username's allowance is the only limit they could hit, and none of them is a failure, so
   * none may be refused as one. A login the users service is too busy for is refused as busy
   * (SERVICE_UNAVAILABLE with retryAfterSeconds, documented apart), never as throttled; on this
   * shared machine the database may time out under the burst too, which is no lock either.
   * Returns the responses, having checked that at least `atLeast` got in (more than the five
   * that a lock would let through).
   */
  async function expectAllLetIn(
    logins: readonly Promise<GraphQLResponse>[],
    atLeast = logins.length - 1,
  ): Promise<GraphQLResponse[]> {
    const responses = await Promise.all(logins);
    const codes = responses.map(codeOf);
    const summary = JSON.stringify(codes);
    for (const [i, code] of codes.entries()) {
      expect(['OK', 'SERVICE_UNAVAILABLE'], summary).toContain(code);
      if (code === 'SERVICE_UNAVAILABLE') {
        expect(responses[i]?.body.errors?.[0]?.extensions?.['retryAfterSeconds'], summary).toBe(1);
      }
    }
    expect(atLeast).toBeGreaterThan(5);
    expect(codes.filter((code) => code === 'OK').length, summary).toBeGreaterThanOrEqual(atLeast);
    return responses;
  }

  it('lets twelve logins with the right password in at once, past the username’s five', async () => {
    const name = await newUser('throttle-burst-1');
    const responses = await expectAllLetIn(
      Array.from({ length: 12 }, (_, i) => login(name, PASSWORD, `198.18.1.${i + 1}`)),
    );
    // They counted all the same: a device that comes after them finds the username locked, and
    // is told so alike for a right password and a wrong one, while their own devices get in.
    const [right, wrong] = [
      await login(name, PASSWORD, '198.18.1.100'),
      await login(name, WRONG, '198.18.1.101'),
    ];
    expectThrottled(right, 15 * 60);
    expect(shape(right)).toBe(shape(wrong));
    const deviceToken = responses
      .map(
        (response) =>
          (response.body.data?.['login'] as { deviceToken?: string } | null)?.deviceToken,
      )
      .find((token) => typeof token === 'string');
    expect(codeOf(await login(name, PASSWORD, '198.18.1.1', { deviceToken }))).toBe('OK');
  });

  it('lets them in through two users replicas at once: what is in flight is in MongoDB', async () => {
    const name = await newUser('throttle-burst-2');
    const replica = await graph.startReplica();
    await expectAllLetIn(
      Array.from({ length: 12 }, (_, i) =>
        login(name, PASSWORD, `198.18.2.${i + 1}`, {
          url: i % 2 === 0 ? graph.routerUrl : replica.routerUrl,
        }),
      ),
    );
  });

  it('checks five of twelve wrong guesses made at once, and the lock hides whether a guess is right', async () => {
    const name = await newUser('throttle-guesses-1');
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => login(name, WRONG, `198.18.3.${i + 1}`)),
    );
    const codes = responses.map(codeOf);
    expect(
      codes.filter((code) => code === 'UNAUTHENTICATED'),
      JSON.stringify(codes),
    ).toHaveLength(5);
    expect(codes.filter((code) => code === 'LOGIN_THROTTLED')).toHaveLength(7);
    // The refused seven checked nothing: the five are all the passwords checked.
    expect(credentialReads(name)).toBe(5);
    // Locked: the right password is refused like a wrong one, and is not checked either.
    const [right, wrong] = [
      await login(name, PASSWORD, '198.18.3.100'),
      await login(name, WRONG, '198.18.3.101'),
    ];
    expect(Math.abs(expectThrottled(right, 30) - expectThrottled(wrong, 30))).toBeLessThanOrEqual(
      1,
    );
    expect(shape(right)).toBe(shape(wrong));
    expect(credentialReads(name)).toBe(5);
  });

  it('gives wrong guesses made among right logins no checks past the allowance', async () => {
    // An attacker who knows nothing sends ten guesses while the owner logs in six times: the
    // owner's successes must not make room for more guesses than the five.
    const name = await newUser('throttle-mix-1');
    const sent = Array.from({ length: 16 }, (_, i) => {
      const right = i % 8 === 1 || i % 8 === 4 || i % 8 === 6;
      return { right, response: login(name, right ? PASSWORD : WRONG, `198.18.4.${i + 1}`) };
    });
    const results = await Promise.all(
      sent.map(async ({ right, response }) => ({ right, code: codeOf(await response) })),
    );
    const summary = JSON.stringify(results);
    const codes = (right: boolean) =>
      results.filter((result) => result.right === right).map(({ code }) => code);
    expect(codes(false), summary).toHaveLength(10);
    for (const code of codes(false)) {
      expect(['UNAUTHENTICATED', 'LOGIN_THROTTLED', 'SERVICE_UNAVAILABLE'], summary).toContain(
        code,
      );
    }
    for (const code of codes(true)) {
      expect(['OK', 'LOGIN_THROTTLED', 'SERVICE_UNAVAILABLE'], summary).toContain(code);
    }
    const guessesChecked = codes(false).filter((code) => code === 'UNAUTHENTICATED').length;
    expect(guessesChecked, summary).toBeLessThanOrEqual(5);
    // Counted from the database too: every password checked was answered as checked.
    const ok = codes(true).filter((code) => code === 'OK').length;
    expect(credentialReads(name), summary).toBe(guessesChecked + 2 * ok);
    // And the username is locked for whoever comes next, the owner's password too.
    expectThrottled(await login(name, PASSWORD, '198.18.4.100'), 15 * 60);
  });

  it('holds right logins back for no fewer wrong guesses than the allowance', async () => {
    // Two wrong guesses leave three of the five: the eight right passwords share those, as each
    // success gives its room back to the attempts in flight beside it.
    const name = await newUser('throttle-mix-2');
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        login(name, i < 2 ? WRONG : PASSWORD, `198.18.5.${i + 1}`),
      ),
    );
    expect(responses.slice(0, 2).map(codeOf)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    await expectAllLetIn(
      responses.slice(2).map((response) => Promise.resolve(response)),
      7,
    );
  });

  describe('with two password slots per users process', () => {
    /** PASSWORD_HASH_CONCURRENCY as on a two-CPU users replica, the queue as by default. */
    let slots: RunningGraph;
    beforeAll(async () => {
      slots = await startGraph('login_throttling_slots', {
        routerEnv: { TRUSTED_PROXY_HOPS: '1' },
        usersEnv: { PASSWORD_HASH_CONCURRENCY: '2' },
      });
    });
    afterAll(() => slots?.stop());

    it('lets ten at once wait for a slot, never for the username’s lock', async () => {
      // Two at a time run, the rest wait in the users service's queue (at most 1 s, then busy):
      // the first have succeeded before the last start, and still do not count against them.
      const name = await newUser('throttle-slots-1', slots);
      await expectAllLetIn(
        Array.from({ length: 10 }, (_, i) =>
          login(name, PASSWORD, `198.18.6.${i + 1}`, { on: slots }),
        ),
        6,
      );
    });
  });
});

describe('a device that logged in before (its device token)', () => {
  /** Logs in once from `ip` and returns the device token the login gave. */
  async function deviceOf(name: string, ip: string, on = graph): Promise<string> {
    const response = await login(name, PASSWORD, ip, { on });
    expect(codeOf(response)).toBe('OK');
    const token = (response.body.data?.['login'] as { deviceToken?: unknown } | undefined)
      ?.deviceToken;
    if (typeof token !== 'string')
      throw new Error(`no device token: ${JSON.stringify(response.body)}`);
    return token;
  }

  it('is let in with the right password while strangers have locked the username', async () => {
    const name = await newUser('throttle-device-1');
    const device = await deviceOf(name, '203.0.113.61');
    for (let i = 0; i < 10; i += 1) await login(name, WRONG, `198.51.100.${150 + i}`);
    expectThrottled(await login(name, PASSWORD, '203.0.113.61'), 60);
    expect(codeOf(await login(name, PASSWORD, '203.0.113.61', { deviceToken: device }))).toBe('OK');
  });

  it('is let in while others’ failures have locked its address (one NAT)', async () => {
    const name = await newUser('throttle-device-2');
    const device = await deviceOf(name, '203.0.113.62');
    for (let i = 0; i < 20; i += 1) await login(`nat-spray-${i}`, WRONG, '203.0.113.62');
    const newcomer = await newUser('throttle-device-2b');
    expectThrottled(await login(newcomer, PASSWORD, '203.0.113.62'), 30);
    expect(codeOf(await login(name, PASSWORD, '203.0.113.62', { deviceToken: device }))).toBe('OK');
  });

  it('has failures of its own: five wrong guesses lock that device, not the username', async () => {
    const name = await newUser('throttle-device-3');
    const device = await deviceOf(name, '203.0.113.63');
    for (let i = 0; i < 5; i += 1) {
      const response = await login(name, WRONG, '203.0.113.63', { deviceToken: device });
      expect(codeOf(response)).toBe('UNAUTHENTICATED');
    }
    expectThrottled(await login(name, PASSWORD, '203.0.113.63', { deviceToken: device }), 30);
    expect(codeOf(await login(name, PASSWORD, '203.0.113.64'))).toBe('OK');
  });

  it('is worth nothing for another username, altered, or made up', async () => {
    const [owner, victim] = [
      await newUser('throttle-device-4'),
      await newUser('throttle-device-5'),
    ];
    const device = await deviceOf(owner, '203.0.113.65');
    for (let i = 0; i < 5; i += 1) await login(victim, WRONG, `198.51.100.${170 + i}`);
    const [version, payload = '', mac = ''] = device.split('.');
    const altered = `${version}.${payload}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;
    for (const token of [device, altered, 'd1.e30.AAAA', 'x'.repeat(10_000)]) {
      const response = await login(victim, PASSWORD, '203.0.113.65', { deviceToken: token });
      expectThrottled(response, 30);
    }
  });
});

describe('per address', () => {
  it('refuses an address after twenty failures across usernames, and no other address', async () => {
    const name = await newUser('throttle-frank');
    for (let i = 0; i < 20; i += 1) {
      expect(codeOf(await login(`spray-${i}`, WRONG, '203.0.113.41'))).toBe('UNAUTHENTICATED');
    }
    expectThrottled(await login('spray-20', WRONG, '203.0.113.41'), 30);
    expectThrottled(await login(name, PASSWORD, '203.0.113.41'), 30);
    // Entries the client puts before the proxy's own are the client's word, and change nothing.
    expectThrottled(await login(name, PASSWORD, '192.0.2.77, 203.0.113.41'), 30);
    expect(codeOf(await login(name, PASSWORD, '203.0.113.42'))).toBe('OK');
  });

  it('counts parallel failures from one address across usernames exactly, refusing none early', async () => {
    // Twenty-five at once, one username each: they all contend for the address's numbers, and
    // the address checks exactly its twenty passwords.
    const responses = await Promise.all(
      Array.from({ length: 25 }, (_, i) => login(`burst-${i}`, WRONG, '203.0.113.45')),
    );
    const codes = responses.map(codeOf);
    expect(
      codes.filter((code) => code === 'UNAUTHENTICATED'),
      JSON.stringify(codes),
    ).toHaveLength(20);
    expect(codes.filter((code) => code === 'LOGIN_THROTTLED')).toHaveLength(5);
  });

  it('gives a right password’s attempt back to the address (many people behind one NAT)', async () => {
    for (let i = 0; i < 25; i += 1) {
      const name = await newUser(`throttle-grace-${i}`);
      expect(codeOf(await login(name, PASSWORD, '203.0.113.51'))).toBe('OK');
    }
  });

  it('bounds successful logins too, known devices or not', async () => {
    // One after the other: in parallel each would log the admin in, and four logins from the
    // test's own address are past this graph's three.
    const names: string[] = [];
    for (const i of [0, 1, 2, 3]) names.push(await newUser(`throttle-heidi-${i}`, bounded));
    const tokens: string[] = [];
    for (const name of names.slice(0, 3)) {
      const response = await login(name, PASSWORD, '203.0.113.71', { on: bounded });
      expect(codeOf(response)).toBe('OK');
      tokens.push(String((response.body.data?.['login'] as { deviceToken: string }).deviceToken));
    }
    expectThrottled(await login(names[3] ?? '', PASSWORD, '203.0.113.71', { on: bounded }), 30);
    expectThrottled(
      await login(names[0] ?? '', PASSWORD, '203.0.113.71', {
        on: bounded,
        deviceToken: tokens[0],
      }),
      30,
    );
    expect(codeOf(await login(names[3] ?? '', PASSWORD, '203.0.113.72', { on: bounded }))).toBe(
      'OK',
    );
  });

  it('takes the socket address, and ignores X-Forwarded-For, when no proxy is trusted', async () => {
    for (let i = 0; i < 3; i += 1) {
      const response = await login(`direct-${i}`, WRONG, `192.0.2.${i + 1}`, { on: direct });
      expect(codeOf(response)).toBe('UNAUTHENTICATED');
    }
    expectThrottled(await login('direct-3', WRONG, '192.0.2.200', { on: direct }), 30);
  });
});

describe('a client that resets its connection', () => {
  /** At most 3 failures per address, no trusted proxy: the address is the socket's. */
  let resets: RunningGraph;
  beforeAll(async () => {
    resets = await startGraph('login_throttling_resets', {
      usersEnv: { LOGIN_MAX_FAILURES_PER_IP: '3' },
    });
  });
  afterAll(() => resets?.stop());

  /** A login whose socket is reset right after the request's last byte is written. */
  function loginAndReset(username: string): Promise<void> {
    const body = JSON.stringify({ query: LOGIN, variables: { u: username, p: WRONG } });
    const { port } = new URL(resets.routerUrl);
    return new Promise((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          () => socket.resetAndDestroy(),
        );
      });
      socket.on('close', () => resolve());
      socket.on('error', () => {});
    });
  }

  it('still counts against its address: the reset does not erase it', async () => {
    for (let i = 0; i < 4; i += 1) await loginAndReset(`reset-${i}`);
    // The logins run on after their sockets are gone; give them time to be counted.
    await sleep(1_500);
    const failed = resets.subgraphRequests.users.filter((request) =>
      request.body.includes('reset-'),
    );
    expect(failed.length).toBeGreaterThan(0);
    for (const request of failed) expect(request.headers['x-client-ip']).toBe('127.0.0.1');
    expectThrottled(await login('reset-then', WRONG, undefined, { on: resets }), 30);
  });

  it('logins that reach the users subgraph with no address share one count, never skip it', async () => {
    const anonymousLogin = (username: string) =>
      resets.requestSubgraph('users', LOGIN, { variables: { u: username, p: WRONG } });
    for (let i = 0; i < 3; i += 1) {
      expect(codeOf(await anonymousLogin(`no-address-${i}`))).toBe('UNAUTHENTICATED');
    }
    expectThrottled(await anonymousLogin('no-address-3'), 30);
  });
});

describe('throttle state', () => {
  it('is shared by users replicas: it lives in MongoDB', async () => {
    const name = await newUser('throttle-heidi');
    const replica = await graph.startReplica();
    for (const url of [graph.routerUrl, replica.routerUrl, graph.routerUrl, replica.routerUrl]) {
      expect(codeOf(await login(name, WRONG, '203.0.113.61', { url }))).toBe('UNAUTHENTICATED');
    }
    expect(codeOf(await login(name, WRONG, '203.0.113.61'))).toBe('UNAUTHENTICATED');
    expectThrottled(await login(name, PASSWORD, '203.0.113.61', { url: replica.routerUrl }), 30);
    expectThrottled(await login(name, PASSWORD, '203.0.113.61'), 30);
  });

  it('lets a username in again when the lockout ends, and doubles the next lockout', async () => {
    const name = await newUser('throttle-ivan', quick);
    const ip = '203.0.113.71';
    for (let i = 0; i < 5; i += 1) {
      expect(codeOf(await login(name, WRONG, ip, { on: quick }))).toBe('UNAUTHENTICATED');
    }
    expect(expectThrottled(await login(name, PASSWORD, ip, { on: quick }), 1)).toBe(1);
    await sleep(1_100);
    // One more try once the lockout is over; it fails, and the next lockout is twice as long.
    expect(codeOf(await login(name, WRONG, ip, { on: quick }))).toBe('UNAUTHENTICATED');
    expect(expectThrottled(await login(name, PASSWORD, ip, { on: quick }), 2)).toBe(2);
    await sleep(2_100);
    expect(codeOf(await login(name, PASSWORD, ip, { on: quick }))).toBe('OK');
  });
});

describe('bad input', () => {
  it('treats a huge username as a failed login like any other, never a server error', async () => {
    const response = await login('x'.repeat(50_000), WRONG, '203.0.113.81');
    expect(codeOf(response)).toBe('UNAUTHENTICATED');
  });
});
