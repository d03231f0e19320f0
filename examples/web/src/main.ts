import './style.css';
import { ApiError, logOut, request, requestRetryingOnce } from './client.js';
import {
  CreateOrderDocument,
  LoginDocument,
  MyOrdersDocument,
  UsersDocument,
} from './operations.js';
import {
  clearSession,
  deviceTokenFor,
  loadSession,
  saveDeviceToken,
  saveSession,
  sessionFrom,
  type Session,
} from './session.js';

const ORDERS_PAGE_SIZE = 10;
const USERS_PAGE_SIZE = 20;
const SESSION_EXPIRED = 'Your session has expired. Please log in again.';
const SOMETHING_WENT_WRONG = 'Something went wrong. Please try again.';

const app = mustFind('#app');
// One message line above every view, announced by screen readers when it changes.
const message = el('p', { 'data-testid': 'message', role: 'alert', hidden: '' });

start();

function start(): void {
  const session = loadSession();
  if (session) showHome(session);
  else showLogin();
}

// --- Views -------------------------------------------------------------------------------------

function showLogin(notice: string | null = null): void {
  const username = el('input', {
    name: 'username',
    autocomplete: 'username',
    required: '',
    'data-testid': 'login-username',
  });
  const password = el('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: '',
    'data-testid': 'login-password',
  });
  const submit = el('button', { type: 'submit', 'data-testid': 'login-submit' }, 'Log in');
  const form = el(
    'form',
    { 'data-testid': 'login-form' },
    el('h1', {}, 'Log in'),
    field('Username', username),
    field('Password', password),
    submit,
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void logIn();
  });

  async function logIn(): Promise<void> {
    say(null);
    submit.disabled = true;
    try {
      const { login } = await request(LoginDocument, {
        username: username.value,
        password: password.value,
        deviceToken: deviceTokenFor(username.value),
      });
      saveDeviceToken(username.value, login.deviceToken);
      const session = sessionFrom(login);
      saveSession(session);
      showHome(session);
    } catch (error) {
      // On this form UNAUTHENTICATED can only mean the credentials; the server words it the same
      // for an unknown user and a wrong password, and so do we.
      if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') {
        say('Wrong username or password.');
      } else {
        report(error);
      }
    } finally {
      submit.disabled = false;
    }
  }

  show(form);
  say(notice);
  username.focus();
}

function showHome(session: Session): void {
  const logout = el('button', { type: 'button', 'data-testid': 'logout' }, 'Log out');
  logout.addEventListener('click', () => {
    logout.disabled = true;
    // logOut forgets the session whether or not the server could revoke it.
    void logOut().finally(() => showLogin());
  });
  const header = el(
    'header',
    {},
    el(
      'span',
      { 'data-testid': 'whoami' },
      `Logged in as ${session.user.fullName ?? session.user.username}`,
    ),
    logout,
  );

  const orders = ordersSection();
  // ADMIN only: for anyone else the section is never built, not merely hidden. The router
  // refuses the query to a USER anyway; this only spares them a section they cannot use.
  const users = session.user.role === 'ADMIN' ? usersSection() : null;

  show(
    el('div', { 'data-testid': 'home' }, header, orders.element, ...(users ? [users.element] : [])),
  );
  say(null);
  void orders.load();
  if (users) void users.load();
}

function ordersSection(): Section {
  const orders = pagedList({
    testId: 'orders',
    empty: 'You have no orders yet.',
    async fetchPage(after) {
      const { me } = await request(MyOrdersDocument, { first: ORDERS_PAGE_SIZE, after });
      return {
        nodes: me?.orders?.edges.map((edge) => edge.node) ?? [],
        pageInfo: me?.orders?.pageInfo ?? { hasNextPage: false, endCursor: null },
      };
    },
    render: (order) =>
      el(
        'li',
        { 'data-testid': 'order' },
        el('strong', { 'data-testid': 'order-item' }, order.item),
        el('span', {}, `to ${order.address}`),
        el('time', { datetime: order.createdAt }, new Date(order.createdAt).toLocaleString()),
      ),
  });

  const item = el('input', {
    name: 'item',
    required: '',
    maxlength: '200',
    'data-testid': 'new-order-item',
  });
  const address = el('input', {
    name: 'address',
    required: '',
    maxlength: '500',
    autocomplete: 'street-address',
    'data-testid': 'new-order-address',
  });
  const submit = el('button', { type: 'submit', 'data-testid': 'new-order-submit' }, 'Place order');
  const form = el(
    'form',
    { 'data-testid': 'new-order-form' },
    field('Item', item),
    field('Address', address),
    submit,
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void placeOrder();
  });

  /**
   * The order being placed, with its idempotency key, until the server confirms it. Submitting
   * the same again after a failure sends the same key, so that an order stored despite the error
   * is not placed twice; a changed form is another order, with a key of its own.
   */
  let pending: { item: string; address: string; idempotencyKey: string } | null = null;

  async function placeOrder(): Promise<void> {
    say(null);
    submit.disabled = true;
    if (pending?.item !== item.value || pending.address !== address.value) {
      pending = { item: item.value, address: address.value, idempotencyKey: newIdempotencyKey() };
    }
    try {
      const { createOrder } = await requestRetryingOnce(CreateOrderDocument, { input: pending });
      pending = null;
      // Newest first, as the server lists them, so the new order goes on top. The cursor for
      // "Load more" still points past the last loaded order, so nothing is skipped or repeated.
      orders.prepend(createOrder);
      form.reset();
    } catch (error) {
      fail(error, form);
    } finally {
      submit.disabled = false;
    }
  }

  return {
    element: el(
      'section',
      { 'data-testid': 'orders-section' },
      el('h2', {}, 'My orders'),
      form,
      orders.element,
    ),
    load: orders.load,
  };
}

function usersSection(): Section {
  const users = pagedList({
    testId: 'users',
    empty: 'There are no users.',
    async fetchPage(after) {
      const { users } = await request(UsersDocument, { first: USERS_PAGE_SIZE, after });
      return {
        nodes: users?.edges.map((edge) => edge.node) ?? [],
        pageInfo: users?.pageInfo ?? { hasNextPage: false, endCursor: null },
      };
    },
    render: (user) =>
      el(
        'li',
        { 'data-testid': 'user' },
        el('strong', { 'data-testid': 'user-username' }, user.username),
        el('span', {}, user.role === 'ADMIN' ? 'admin' : 'user'),
        el('span', {}, user.fullName ?? ''),
      ),
  });
  return {
    element: el(
      'section',
      { 'data-testid': 'users-section' },
      el('h2', {}, 'Users'),
      users.element,
    ),
    load: users.load,
  };
}

// --- Lists ---------------------------------------------------------------------------------------

interface Section {
  readonly element: HTMLElement;
  /** Fetches the first page; call once the element is on the page. */
  load(): Promise<void>;
}

interface Page<TNode> {
  readonly nodes: readonly TNode[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor: string | null };
}

/** A list over a Relay connection: one page at a time, "Load more" while there are more. */
function pagedList<TNode>(options: {
  testId: string;
  empty: string;
  fetchPage(after: string | null): Promise<Page<TNode>>;
  render(node: TNode): HTMLElement;
}): { element: HTMLElement; load(): Promise<void>; prepend(node: TNode): void } {
  const list = el('ul', { 'data-testid': `${options.testId}-list`, 'aria-busy': 'true' });
  const empty = el('p', { 'data-testid': `${options.testId}-empty`, hidden: '' }, options.empty);
  const more = el(
    'button',
    { type: 'button', 'data-testid': `${options.testId}-more`, hidden: '' },
    'Load more',
  );
  const element = el('div', {}, list, empty, more);
  let endCursor: string | null = null;

  async function load(): Promise<void> {
    more.disabled = true;
    list.setAttribute('aria-busy', 'true');
    try {
      const page = await options.fetchPage(endCursor);
      list.append(...page.nodes.map((node) => options.render(node)));
      endCursor = page.pageInfo.endCursor;
      more.hidden = !page.pageInfo.hasNextPage;
      empty.hidden = list.childElementCount > 0;
    } catch (error) {
      fail(error, element);
    } finally {
      more.disabled = false;
      list.setAttribute('aria-busy', 'false');
    }
  }

  more.addEventListener('click', () => {
    say(null);
    void load();
  });

  return {
    element,
    load,
    prepend(node) {
      list.prepend(options.render(node));
      empty.hidden = true;
    },
  };
}

// --- Errors --------------------------------------------------------------------------------------

/**
 * A request made while logged in failed. UNAUTHENTICATED here means the session is over: the
 * access token expired and the refresh token was refused too (client.ts has tried it), or the
 * token was refused for another reason (signed with a key the router no longer trusts). Back to
 * the login form, saying why.
 * `from` is the part of the page that asked; if it is gone (the person logged out meanwhile, or
 * another request already ended the session) the answer no longer matters.
 */
function fail(error: unknown, from: HTMLElement): void {
  if (!from.isConnected) return;
  if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') {
    clearSession();
    showLogin(SESSION_EXPIRED);
    return;
  }
  report(error);
}

/**
 * A key for one order (see `pending` in ordersSection). `crypto.randomUUID` exists only in
 * secure contexts (https, localhost); a page served over plain http elsewhere gets 128 random
 * bits from `getRandomValues`, which exists everywhere.
 */
function newIdempotencyKey(): string {
  if (window.isSecureContext) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Shows a failure as a sentence a person can act on; never the raw response. */
function report(error: unknown): void {
  if (!(error instanceof ApiError)) {
    say(SOMETHING_WENT_WRONG);
    // Not the server's doing but a bug in this page: let it reach the console.
    throw error;
  }
  switch (error.code) {
    case 'NETWORK_ERROR':
      return say('Cannot reach the server.');
    case 'FORBIDDEN':
      return say('You are not allowed to do that.');
    case 'BAD_USER_INPUT':
    case 'LOGIN_THROTTLED':
    case 'IDEMPOTENCY_KEY_REUSED':
      // The server writes these for people ("\"item\" needs 1 to 200 characters.", "Wait 30
      // seconds, then try again.").
      return say(error.message);
    case 'SERVICE_UNAVAILABLE':
      return say('Part of the service is unavailable right now. Try again shortly.');
    case 'UNAUTHENTICATED':
      return say(SESSION_EXPIRED);
    case 'PERSISTED_QUERY_NOT_FOUND':
    case 'PERSISTED_QUERY_NOT_IN_LIST':
      // The page was built from operations the router does not know: a newer or older deploy.
      return say('This page is out of date. Please reload it.');
    case 'BAD_RESPONSE':
    case 'UNKNOWN':
      return say(SOMETHING_WENT_WRONG);
  }
}

// --- DOM -----------------------------------------------------------------------------------------

function show(view: HTMLElement): void {
  app.replaceChildren(message, view);
}

function say(text: string | null): void {
  message.textContent = text ?? '';
  message.hidden = text === null;
}

/**
 * Creates an element. Children are appended as nodes, and strings become text nodes, never HTML:
 * whatever a user typed into an order is shown as typed, not run.
 */
function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Readonly<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

function field(label: string, control: HTMLInputElement): HTMLLabelElement {
  return el('label', {}, el('span', {}, label), control);
}

function mustFind(selector: string): HTMLElement {
  const element = document.querySelector(selector);
  if (!(element instanceof HTMLElement)) throw new Error(`index.html has no ${selector}`);
  return element;
}
