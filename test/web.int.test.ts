import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt, SignJWT } from 'jose';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { expectError, expectOk } from './expect.js';
import { startGraph, type RunningGraph } from './graph.js';
import { persistedDocument, persistedDocuments } from './manifest.js';

/**
 * The example web app (examples/web) in a real browser, against the real graph with trusted
 * documents enforced: what a person sees when they log in, place orders, and get things wrong.
 * Vite serves the app as `npm run web` does, proxying /graphql to this file's router; and, for
 * the CORS tests, on origins of its own, calling the router's URL itself.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const appRoot = join(root, 'examples/web');
const resultsDir = join(root, 'test-results');
/** The hashes the router accepts. */
const manifest = new Set(persistedDocuments.keys());

/**
 * The app's own text of an operation: what the router, in enforce mode, runs for a test that
 * sends query text rather than a hash.
 */
function documentOf(operationName: string): string {
  return persistedDocument(operationName).text;
}

/**
 * The browser: Debian's chromium on these machines, CHROMIUM_PATH (or a usual install) elsewhere.
 * Nothing is downloaded. Without one the suite is skipped, loudly, except under CI=true, where a
 * missing browser is a failure so the test cannot quietly stop running.
 */
const executablePath = [
  process.env['CHROMIUM_PATH'],
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
].find((path): path is string => path !== undefined && path !== '' && existsSync(path));
if (!executablePath) {
  if (process.env['CI'])
    throw new Error("No Chromium found: install Debian's chromium or set CHROMIUM_PATH.");
  process.stderr.write(
    'test/web.int.test.ts: no Chromium found (set CHROMIUM_PATH); skipping the browser tests.\n',
  );
}

// Where the app keeps its session, and what of it the tests read; keep in sync with
// examples/web/src/session.ts.
const SESSION_KEY = 'supergraph.session';
const StoredSession = z.looseObject({ token: z.string(), refreshToken: z.string() });

/** Access tokens of the second graph live this long, so that tests can see them expire. */
const SHORT_TTL_SECONDS = 3;

// Bounded waits: a missing element fails the test in seconds, not at the 30 s test timeout.
const WAIT = { timeout: 5_000 };

let graph: RunningGraph;
let vite: ViteDevServer;
let browser: Browser;
let appUrl: string;
/**
 * A second graph, whose access tokens expire after SHORT_TTL_SECONDS and whose router allows no
 * clock skew, with the app served in front of it at `shortAppUrl`: for the tests that wait for a
 * token to expire. The others would meet refreshes they do not expect.
 */
let shortGraph: RunningGraph;
let shortVite: ViteDevServer;
let shortAppUrl: string;
/**
 * The app on two origins of its own, calling `graph`'s router at its URL, cross-origin, with no
 * proxy in between: `listedOrigin` is in that router's CORS_ORIGINS, `unlistedOrigin` is not.
 */
let listedOrigin: AppOrigin;
let unlistedOrigin: AppOrigin;

/** Serves the app as `npm run web` does, proxying /graphql to `graph`'s router. */
async function serveApp(graph: RunningGraph): Promise<{ vite: ViteDevServer; url: string }> {
  const vite = await createServer({
    root: appRoot,
    // The app's vite.config.ts only sets the proxy, which must point at this file's router.
    configFile: false,
    logLevel: 'silent',
    clearScreen: false,
    server: {
      host: '127.0.0.1',
      port: 0,
      strictPort: false,
      watch: null,
      proxy: { '/graphql': new URL(graph.routerUrl).origin },
    },
  });
  await vite.listen();
  const url = vite.resolvedUrls?.local[0];
  if (!url) throw new Error('the Vite dev server did not report its URL');
  return { vite, url };
}

interface AppOrigin {
  /** Where the app is, e.g. `http://127.0.0.1:41234`. */
  readonly origin: string;
  /** Serves the app here, as a page that sends its requests to `graph`'s router URL. */
  serve(graph: RunningGraph): Promise<void>;
  close(): Promise<void>;
}

/**
 * An origin for the app, listening already (127.0.0.1, port 0), so that the router's
 * CORS_ORIGINS can name it before the router starts; the app is served there once the router's
 * URL is known, with Vite in middleware mode on this very server.
 */
async function listenForApp(): Promise<AppOrigin> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  let vite: ViteDevServer | undefined;
  return {
    origin: `http://127.0.0.1:${address.port}`,
    async serve(graph) {
      vite = await createServer({
        root: appRoot,
        configFile: false,
        logLevel: 'silent',
        clearScreen: false,
        appType: 'spa',
        // What `VITE_GRAPHQL_URL=<the router's URL> npm run web` sets (examples/web/src/client.ts).
        define: { 'import.meta.env.VITE_GRAPHQL_URL': JSON.stringify(graph.routerUrl) },
        server: { middlewareMode: true, hmr: { server }, watch: null },
      });
      server.on('request', vite.middlewares);
    },
    async close() {
      await vite?.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

beforeAll(async () => {
  if (!executablePath) return;
  [listedOrigin, unlistedOrigin] = await Promise.all([listenForApp(), listenForApp()]);
  [graph, shortGraph] = await Promise.all([
    startGraph('web', {
      routerEnv: { PERSISTED_DOCUMENTS_MODE: 'enforce', CORS_ORIGINS: listedOrigin.origin },
    }),
    startGraph('web_short', {
      routerEnv: { PERSISTED_DOCUMENTS_MODE: 'enforce', JWT_CLOCK_TOLERANCE_SECONDS: '0' },
      usersEnv: { JWT_TTL_SECONDS: String(SHORT_TTL_SECONDS) },
    }),
  ]);
  ({ vite, url: appUrl } = await serveApp(graph));
  ({ vite: shortVite, url: shortAppUrl } = await serveApp(shortGraph));
  await listedOrigin.serve(graph);
  await unlistedOrigin.serve(graph);
  browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 20_000,
  });
});

afterAll(async () => {
  await browser?.close();
  await vite?.close();
  await shortVite?.close();
  await listedOrigin?.close();
  await unlistedOrigin?.close();
  await graph?.stop();
  await shortGraph?.stop();
});

let context: BrowserContext;
let page: Page;
/** Everything that went wrong in the page: uncaught errors, console errors, failed requests. */
let problems: string[];
/** The JSON body of every POST /graphql the page sent. */
let sent: unknown[];

/**
 * The browser's localStorage between tests: the device tokens the app keeps there, so that the
 * many logins of this file are one browser's, as a person's would be (README, login throttling).
 */
let storageState: Awaited<ReturnType<BrowserContext['storageState']>> | undefined;

beforeEach(async () => {
  // A fresh context per test: its own sessionStorage, so no test starts logged in.
  context = await browser.newContext({
    viewport: { width: 900, height: 900 },
    ...(storageState ? { storageState } : {}),
  });
  context.setDefaultTimeout(WAIT.timeout);
  page = await context.newPage();
  problems = [];
  sent = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('requestfailed', (request) =>
    problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`),
  );
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/graphql') sent.push(request.postDataJSON());
  });
});

afterEach(async () => {
  storageState = await context?.storageState();
  await context?.close();
});

/** Fails on anything the page complained about, except what the test expected. */
function expectNoProblems(expected: RegExp[] = []): void {
  const unexpected = problems.filter((problem) => !expected.some((re) => re.test(problem)));
  expect(unexpected).toEqual([]);
}

async function logIn(username: string, password: string, url = appUrl): Promise<void> {
  await page.goto(url);
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

/** Waits until the orders list has finished loading (it is `aria-busy` while a page is fetched). */
async function ordersLoaded(): Promise<void> {
  await page
    .locator('[data-testid="orders-list"][aria-busy="false"]')
    .waitFor({ ...WAIT, state: 'attached' });
}

async function placeOrder(item: string, address: string): Promise<void> {
  const before = await page.getByTestId('order').count();
  await page.getByTestId('new-order-item').fill(item);
  await page.getByTestId('new-order-address').fill(address);
  await page.getByTestId('new-order-submit').click();
  await expect.poll(() => page.getByTestId('order').count(), WAIT).toBe(before + 1);
}

/**
 * One sessionStorage entry of the page. An expression rather than a function, because this file
 * is compiled without the DOM's types.
 */
function sessionStorageItem(key: string): Promise<unknown> {
  return page.evaluate(`sessionStorage.getItem(${JSON.stringify(key)})`);
}

/** The session the page has stored: its tokens, and whatever else it keeps. */
async function storedSession(): Promise<z.infer<typeof StoredSession>> {
  const stored = await sessionStorageItem(SESSION_KEY);
  if (typeof stored !== 'string') throw new Error(`no ${SESSION_KEY} in sessionStorage`);
  return StoredSession.parse(JSON.parse(stored));
}

/**
 * Waits until the router refuses `accessToken` as expired. jose refuses it from second `exp`
 * on, and the short graph's router allows no clock skew.
 */
async function untilExpired(accessToken: string): Promise<void> {
  const { exp } = decodeJwt(accessToken);
  if (exp === undefined) throw new Error('the access token has no exp');
  const wait = exp * 1000 - Date.now() + 250;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

/**
 * Lets the next `count` requests for `operation` reach the graph, and answers the page as the
 * router does while the database does not answer: what a client sees when its write was stored
 * anyway, before an outage took the answer.
 */
async function loseAnswersTo(operation: string, count: number): Promise<void> {
  let lost = 0;
  await page.route('**/graphql', async (route) => {
    if (lost >= count || operationName(route.request().postDataJSON()) !== operation) {
      return route.continue();
    }
    lost++;
    const stored = await route.fetch();
    expect(stored.status()).toBe(200);
    return route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({
        data: null,
        errors: [
          {
            message: 'The database is unavailable right now. Try again in a few seconds.',
            path: [operation === 'CreateOrder' ? 'createOrder' : operation],
            extensions: { code: 'SERVICE_UNAVAILABLE' },
          },
        ],
      }),
    });
  });
}

const SentOrder = z.object({
  variables: z.object({ input: z.object({ idempotencyKey: z.string() }) }),
});

/** The idempotency key of every CreateOrder the page has sent, in order. */
const sentKeys = () =>
  sent
    .filter((body) => operationName(body) === 'CreateOrder')
    .map((body) => SentOrder.parse(body).variables.input.idempotencyKey);

/** How many requests for `name` the page has sent. */
const sentCount = (name: string) => sent.filter((body) => operationName(body) === name).length;

const orderItems = () => page.getByTestId('order-item').allTextContents();
const message = () => page.getByTestId('message');

describe.skipIf(!executablePath)('the web app', () => {
  it('lets a user place an order and see it on top of My orders, with no Users section', async () => {
    await logIn('user', 'u');
    await expect
      .poll(() => page.getByTestId('whoami').textContent(), WAIT)
      .toBe('Logged in as user');
    await ordersLoaded();
    expect(await page.getByTestId('orders-empty').textContent()).toBe('You have no orders yet.');
    expect(await page.getByTestId('orders-empty').isVisible()).toBe(true);

    const item = `Teapot ${randomUUID().slice(0, 8)}`;
    await placeOrder(item, '1 Kettle Lane, Leeds');
    expect((await orderItems())[0]).toBe(item);
    expect(await page.getByTestId('orders-empty').isVisible()).toBe(false);

    // Reloading shows what the server stored, not what the page added: the order is on top, and
    // the session survived the reload.
    await page.reload();
    await ordersLoaded();
    expect((await orderItems())[0]).toBe(item);
    expect(await page.getByTestId('order').first().textContent()).toContain('1 Kettle Lane, Leeds');

    // A USER never gets the admin section, not even hidden, and never asks for the user list.
    expect(await page.getByTestId('users-section').count()).toBe(0);
    expect(await page.getByText('Users', { exact: true }).count()).toBe(0);
    expect(sent.map((body) => operationName(body))).not.toContain('Users');

    mkdirSync(resultsDir, { recursive: true });
    await page.screenshot({ path: join(resultsDir, 'web-user.png'), fullPage: true });
    expectNoProblems();
  });

  it('sends operations by hash only, each one in the persisted documents manifest', async () => {
    await logIn('user', 'u');
    await ordersLoaded();
    expect(sent.map((body) => operationName(body))).toEqual(['Login', 'MyOrders']);
    for (const body of sent) {
      expect(body).not.toHaveProperty('query');
      expect(manifest).toContain(persistedHash(body));
    }
    expectNoProblems();
  });

  it('says "Wrong username or password." for a wrong password, and stays on the form', async () => {
    await logIn('user', 'not-the-password');
    await expect.poll(() => message().textContent(), WAIT).toBe('Wrong username or password.');
    expect(await message().isVisible()).toBe(true);
    expect(await page.getByTestId('login-form').isVisible()).toBe(true);
    expect(await page.getByTestId('home').count()).toBe(0);
    expectNoProblems();
  });

  it("passes on the server's words when logins are throttled", async () => {
    // Five failures lock a username (the users subgraph's default), known or not.
    for (let attempt = 0; attempt < 5; attempt++) {
      await logIn('nobody-here', 'not-the-password');
      await expect.poll(() => message().textContent(), WAIT).toBe('Wrong username or password.');
    }
    await logIn('nobody-here', 'not-the-password');
    await expect
      .poll(() => message().textContent(), WAIT)
      .toMatch(/^Too many failed login attempts\. Wait \d+ seconds, then try again\.$/);
    expect(await page.getByTestId('login-form').isVisible()).toBe(true);
    expectNoProblems();
  });

  it('shows an admin the Users section, and logging out returns to the login form', async () => {
    await logIn('admin', 'a');
    await expect
      .poll(() => page.getByTestId('whoami').textContent(), WAIT)
      .toBe('Logged in as Admin Admin');
    await page.getByTestId('users-section').waitFor(WAIT);
    await expect
      .poll(() => page.getByTestId('user-username').allTextContents(), WAIT)
      .toEqual(expect.arrayContaining(['admin', 'user']));
    expect(await page.getByRole('heading', { name: 'Users' }).isVisible()).toBe(true);

    await page.getByTestId('logout').click();
    await page.getByTestId('login-form').waitFor(WAIT);
    expect(await page.getByTestId('home').count()).toBe(0);
    expect(await page.getByTestId('users-section').count()).toBe(0);
    // Logged out for good: a reload does not bring the session back.
    await page.reload();
    await page.getByTestId('login-form').waitFor(WAIT);
    expect(await page.getByTestId('home').count()).toBe(0);
    expectNoProblems();
  });

  it("shows the server's own words for bad input", async () => {
    await logIn('user', 'u');
    await ordersLoaded();
    const before = await page.getByTestId('order').count();
    // Blank but not empty, so the browser's own `required` check lets it through to the server.
    await page.getByTestId('new-order-item').fill('   ');
    await page.getByTestId('new-order-address').fill('1 Kettle Lane, Leeds');
    await page.getByTestId('new-order-submit').click();
    await expect
      .poll(() => message().textContent(), WAIT)
      .toBe('"item" needs 1 to 200 characters.');
    expect(await page.getByTestId('order').count()).toBe(before);
    expectNoProblems();
  });

  it('pages through My orders with "Load more", newest first, nothing twice', async () => {
    await logIn('user', 'u');
    await ordersLoaded();
    const batch = randomUUID().slice(0, 8);
    const placed = Array.from({ length: 12 }, (_, i) => `Box ${batch} #${i + 1}`);
    for (const item of placed) await placeOrder(item, '2 Crate Road');

    await page.reload();
    await ordersLoaded();
    const firstPage = (await orderItems()).length;
    expect(firstPage).toBeLessThan(placed.length);
    const more = page.getByTestId('orders-more');
    expect(await more.isVisible()).toBe(true);
    while (await more.isVisible()) {
      const shown = (await orderItems()).length;
      await more.click();
      await expect.poll(async () => (await orderItems()).length, WAIT).toBeGreaterThan(shown);
      await ordersLoaded();
    }

    const all = await orderItems();
    expect(new Set(all).size).toBe(all.length);
    expect(all.slice(0, placed.length)).toEqual([...placed].reverse());
    expectNoProblems();
  });

  it('sends a person whose session has expired back to login, saying why', async () => {
    await logIn('user', 'u');
    await ordersLoaded();
    // Swap the stored token for one that expired a minute ago, otherwise as the users subgraph
    // issues them, and come back to the page: the router refuses it with a 401. The session's
    // refresh token was revoked meanwhile (a logout in another tab, say), so the page's refresh
    // is refused too, and the session is over.
    const session = await storedSession();
    expectOk(
      await graph.request(graph.routerUrl, documentOf('Logout'), {
        variables: { refreshToken: session.refreshToken },
      }),
    );
    const { sub } = decodeJwt(session.token);
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ role: 'USER' })
      .setProtectedHeader({ alg: graph.signingKey.alg, kid: graph.signingKey.kid, typ: 'at+jwt' })
      .setIssuer(graph.jwt.issuer)
      .setAudience(graph.jwt.audience)
      .setSubject(sub ?? '')
      .setIssuedAt(now - 3600)
      .setExpirationTime(now - 60)
      .sign(graph.signingKey.privateKey);
    await page.evaluate(
      `sessionStorage.setItem(${JSON.stringify(SESSION_KEY)}, ${JSON.stringify(
        JSON.stringify({ ...session, token: expired }),
      )})`,
    );

    await page.reload();
    await expect
      .poll(() => message().textContent(), WAIT)
      .toBe('Your session has expired. Please log in again.');
    expect(await page.getByTestId('login-form').isVisible()).toBe(true);
    expect(await page.getByTestId('home').count()).toBe(0);
    expect(await sessionStorageItem(SESSION_KEY)).toBeNull();
    // It tried the refresh token, once, before giving up.
    expect(sentCount('RefreshToken')).toBe(1);
    // Chromium logs every 4xx response; this one is the point of the test.
    expectNoProblems([/status of 401/]);
  });

  it('revokes the session on the server when the person logs out', async () => {
    await logIn('user', 'u');
    await ordersLoaded();
    const { refreshToken } = await storedSession();

    await page.getByTestId('logout').click();
    await page.getByTestId('login-form').waitFor(WAIT);
    expect(await sessionStorageItem(SESSION_KEY)).toBeNull();

    // The refresh token the page held is worthless now, to the page or to anyone who copied it.
    const response = await graph.request(graph.routerUrl, documentOf('RefreshToken'), {
      variables: { token: refreshToken },
    });
    expectError(response, 'UNAUTHENTICATED', /log in again/i);
    expect(response.body.data).toBeNull();
    expectNoProblems();
  });

  it('logs out here even when the server cannot be told', async () => {
    await logIn('user', 'u');
    await ordersLoaded();
    await page.route('**/graphql', (route) => route.abort('connectionrefused'));

    await page.getByTestId('logout').click();
    await page.getByTestId('login-form').waitFor(WAIT);
    expect(sentCount('Logout')).toBe(1);
    expect(await sessionStorageItem(SESSION_KEY)).toBeNull();
    expect(await message().isVisible()).toBe(false);
    await page.unroute('**/graphql');
    await page.reload();
    await page.getByTestId('login-form').waitFor(WAIT);
    expectNoProblems([/ERR_CONNECTION_REFUSED/]);
  });

  it('sends an order answered SERVICE_UNAVAILABLE once more, with the same key: one order', async () => {
    await logIn('user', 'u');
    await ordersLoaded();
    // The first order reaches the server and is stored, and its answer is lost to an outage.
    await loseAnswersTo('CreateOrder', 1);
    const item = `Umbrella ${randomUUID().slice(0, 8)}`;
    await placeOrder(item, '12 Rainy Row');
    expect((await orderItems()).filter((shown) => shown === item)).toHaveLength(1);
    expect(await message().isVisible()).toBe(false);
    const [first, retry, ...more] = sentKeys();
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(retry).toBe(first);
    expect(more).toEqual([]);
    expect(await graph.ordersDb.collection('orders').countDocuments({ item })).toBe(1);

    // The next order is another order, with a key of its own.
    await placeOrder(`Raincoat ${randomUUID().slice(0, 8)}`, '12 Rainy Row');
    expect(sentKeys()).toHaveLength(3);
    expect(sentKeys()[2]).not.toBe(first);
    expectNoProblems();
  });

  it('keeps the key when the same order is submitted again after a failure, not when it changes', async () => {
    await logIn('user', 'u');
    await ordersLoaded();
    // Both the order and the page's own retry are stored, and both answers are lost.
    await loseAnswersTo('CreateOrder', 2);
    const item = `Wellies ${randomUUID().slice(0, 8)}`;
    await page.getByTestId('new-order-item').fill(item);
    await page.getByTestId('new-order-address').fill('13 Puddle Lane');
    await page.getByTestId('new-order-submit').click();
    await expect
      .poll(() => message().textContent(), WAIT)
      .toBe('Part of the service is unavailable right now. Try again shortly.');
    expect(sentKeys()).toHaveLength(2);

    // The person tries again: the same order, so the same key, and still one order.
    await page.getByTestId('new-order-submit').click();
    await expect.poll(async () => (await orderItems())[0], WAIT).toBe(item);
    expect(new Set(sentKeys()).size).toBe(1);
    expect(sentKeys()).toHaveLength(3);
    expect(await graph.ordersDb.collection('orders').countDocuments({ item })).toBe(1);
    expectNoProblems();
  });

  it('says "Cannot reach the server." when the network fails', async () => {
    await logIn('user', 'u');
    await ordersLoaded();
    await page.route('**/graphql', (route) => route.abort('connectionrefused'));
    await page.getByTestId('new-order-item').fill('Lamp');
    await page.getByTestId('new-order-address').fill('3 Light Street');
    await page.getByTestId('new-order-submit').click();
    await expect.poll(() => message().textContent(), WAIT).toBe('Cannot reach the server.');
    // Still logged in: a network failure is not a reason to end the session.
    expect(await page.getByTestId('home').isVisible()).toBe(true);
    expectNoProblems([/ERR_CONNECTION_REFUSED/]);
  });
});

describe.skipIf(!executablePath)('the web app, as access tokens expire', () => {
  it('refreshes an access token that expired while the page was open: the next action just works', async () => {
    await logIn('user', 'u', shortAppUrl);
    await ordersLoaded();
    const before = await storedSession();
    await untilExpired(before.token);

    const item = `Hourglass ${randomUUID().slice(0, 8)}`;
    await placeOrder(item, '4 Clock Tower Road');
    expect((await orderItems())[0]).toBe(item);
    expect(await page.getByTestId('home').isVisible()).toBe(true);
    expect(await message().isVisible()).toBe(false);
    // Refused once as expired, one refresh, the same request again; never a second login.
    expect(sent.map((body) => operationName(body))).toEqual([
      'Login',
      'MyOrders',
      'CreateOrder',
      'RefreshToken',
      'CreateOrder',
    ]);
    // Both tokens were replaced: the refresh token rotated.
    const after = await storedSession();
    expect(after.token).not.toBe(before.token);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    // Chromium logs the 401 that set the refresh off.
    expectNoProblems([/status of 401/]);
  });

  it('refreshes once for requests that find the token expired together', async () => {
    await logIn('admin', 'a', shortAppUrl);
    await ordersLoaded();
    await page.getByTestId('users-section').waitFor(WAIT);
    const before = await storedSession();
    await untilExpired(before.token);

    // The home page asks for My orders and Users at once, both with the expired token. A second
    // refresh with the same refresh token would be a reuse, and the server would end the session.
    await page.reload();
    await ordersLoaded();
    await expect
      .poll(() => page.getByTestId('user-username').allTextContents(), WAIT)
      .toEqual(expect.arrayContaining(['admin', 'user']));
    expect(sentCount('RefreshToken')).toBe(1);
    expect(sentCount('MyOrders')).toBe(3);
    expect(sentCount('Users')).toBe(3);
    expect(await page.getByTestId('home').isVisible()).toBe(true);
    expect(await message().isVisible()).toBe(false);
    expect((await storedSession()).refreshToken).not.toBe(before.refreshToken);
    expectNoProblems([/status of 401/]);
  });

  it('does not refresh again for a request refused before the refresh, answered after it', async () => {
    await logIn('admin', 'a', shortAppUrl);
    await ordersLoaded();
    await page.getByTestId('users-section').waitFor(WAIT);
    const before = await storedSession();
    await untilExpired(before.token);

    // Hold back the 401 to Users until the page has refreshed and retried My orders. The page
    // must then retry Users with the token it already has: refreshing again with the refresh
    // token it just spent would be a reuse, and the server would end the session.
    let myOrders = 0;
    const retried = page.waitForRequest(
      (request) => operationName(request.postDataJSON()) === 'MyOrders' && ++myOrders === 2,
    );
    let heldBack = false;
    await page.route('**/graphql', async (route) => {
      if (heldBack || operationName(route.request().postDataJSON()) !== 'Users') {
        return route.continue();
      }
      heldBack = true;
      const response = await route.fetch();
      await retried;
      return route.fulfill({ response });
    });
    await page.reload();
    await ordersLoaded();
    await expect
      .poll(() => page.getByTestId('user-username').allTextContents(), WAIT)
      .toEqual(expect.arrayContaining(['admin', 'user']));
    expect(heldBack).toBe(true);
    expect(sentCount('RefreshToken')).toBe(1);
    expect(sentCount('Users')).toBe(3);
    expect(await page.getByTestId('home').isVisible()).toBe(true);
    expect(await message().isVisible()).toBe(false);
    expectNoProblems([/status of 401/]);
  });

  it('stays logged in when a refresh gets no answer, and refreshes on the next try', async () => {
    await logIn('user', 'u', shortAppUrl);
    await ordersLoaded();
    const before = await storedSession();
    await untilExpired(before.token);

    await page.route('**/graphql', (route) =>
      operationName(route.request().postDataJSON()) === 'RefreshToken'
        ? route.abort('connectionrefused')
        : route.continue(),
    );
    const item = `Sundial ${randomUUID().slice(0, 8)}`;
    await page.getByTestId('new-order-item').fill(item);
    await page.getByTestId('new-order-address').fill('5 Noon Street');
    await page.getByTestId('new-order-submit').click();
    await expect.poll(() => message().textContent(), WAIT).toBe('Cannot reach the server.');
    // The refresh token never reached the server, so it is as good as before: keep it.
    expect(await page.getByTestId('home').isVisible()).toBe(true);
    expect(await storedSession()).toEqual(before);

    await page.unroute('**/graphql');
    await page.getByTestId('new-order-submit').click();
    await expect.poll(async () => (await orderItems())[0], WAIT).toBe(item);
    expect(sentCount('RefreshToken')).toBe(2);
    expect((await storedSession()).refreshToken).not.toBe(before.refreshToken);
    expectNoProblems([/status of 401/, /ERR_CONNECTION_REFUSED/]);
  });
});

function operationName(body: unknown): unknown {
  return typeof body === 'object' && body !== null && 'operationName' in body
    ? body.operationName
    : undefined;
}

function persistedHash(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || !('extensions' in body)) return undefined;
  const { extensions } = body;
  if (typeof extensions !== 'object' || extensions === null) return undefined;
  if (!('persistedQuery' in extensions)) return undefined;
  const { persistedQuery } = extensions;
  if (typeof persistedQuery !== 'object' || persistedQuery === null) return undefined;
  return 'sha256Hash' in persistedQuery ? persistedQuery.sha256Hash : undefined;
}

describe.skipIf(!executablePath)('the web app on an origin of its own, calling the router', () => {
  it('logs in, places an order and logs out when the router lists its origin in CORS_ORIGINS', async () => {
    // Cross-origin for real: another port than the router's, and every request to its URL.
    expect(listedOrigin.origin).not.toBe(new URL(graph.routerUrl).origin);
    const posted: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST') posted.push(request.url());
    });

    await logIn('user', 'u', listedOrigin.origin);
    await expect
      .poll(() => page.getByTestId('whoami').textContent(), WAIT)
      .toBe('Logged in as user');
    await ordersLoaded();
    const item = `Passport ${randomUUID().slice(0, 8)}`;
    await placeOrder(item, '6 Border Road, Dover');
    expect((await orderItems())[0]).toBe(item);
    await page.reload();
    await ordersLoaded();
    expect((await orderItems())[0]).toBe(item);

    // The logout is a keepalive request, and it too needs the preflight: the server must get it.
    const { refreshToken } = await storedSession();
    await page.getByTestId('logout').click();
    await page.getByTestId('login-form').waitFor(WAIT);
    await expect
      .poll(async () => {
        const response = await graph.request(graph.routerUrl, documentOf('RefreshToken'), {
          variables: { token: refreshToken },
        });
        return response.body.errors?.[0]?.extensions?.['code'];
      }, WAIT)
      .toBe('UNAUTHENTICATED');

    expect(sent.map((body) => operationName(body))).toEqual([
      'Login',
      'MyOrders',
      'CreateOrder',
      'MyOrders',
      'Logout',
    ]);
    expect(new Set(posted)).toEqual(new Set([graph.routerUrl]));
    expectNoProblems();
  });

  it('is refused by the browser when its origin is not on the list: "Cannot reach the server."', async () => {
    const logins = graph.subgraphRequests.users.length;
    await logIn('user', 'u', unlistedOrigin.origin);
    await expect.poll(() => message().textContent(), WAIT).toBe('Cannot reach the server.');
    expect(await message().isVisible()).toBe(true);
    expect(await page.getByTestId('login-form').isVisible()).toBe(true);
    expect(await page.getByTestId('home').count()).toBe(0);
    expect(await sessionStorageItem(SESSION_KEY)).toBeNull();
    // Stopped at the preflight: the login itself never left the browser.
    expect(graph.subgraphRequests.users.length).toBe(logins);
    // Chromium says why, in the console; that, and the request it failed, is all that went wrong.
    expect(problems).toContainEqual(expect.stringMatching(/blocked by CORS policy/));
    expectNoProblems([/blocked by CORS policy/, /net::ERR_FAILED/]);
  });
});
