import type { Role } from './gql/graphql.js';

/**
 * Who is logged in: the access token the router checks, the refresh token that gets the next one
 * when it expires (client.ts), and the user they belong to.
 */
export interface Session {
  readonly token: string;
  readonly refreshToken: string;
  readonly user: {
    readonly id: string;
    readonly username: string;
    readonly fullName: string | null;
    readonly role: Role;
  };
}

// sessionStorage, not localStorage: the tokens die with the tab instead of lingering on the
// machine, and a second tab logs in on its own, with a refresh token of its own, so two tabs
// never race to rotate one token (the loser's reuse would revoke the session). A duplicated tab
// starts with a copy, though: once both have refreshed, the second one's reuse revokes the
// session, and both tabs go back to the login form.
//
// The tradeoff: any script running on this origin can read both tokens, and the refresh token
// lives 30 days, not 15 minutes. Keeping it out of JavaScript's reach would take an HttpOnly
// cookie set by a server of our own in front of the API, which returns tokens in the response
// body. What limits the damage here: trusted documents (a stolen access token runs only this
// page's operations), and rotation with reuse detection (once the thief or this page uses the
// refresh token, the other's next refresh revokes the session).
//
// The router still checks every request, so a tampered value (say, a role changed to ADMIN)
// only changes what the page tries to show.
const KEY = 'supergraph.session';

/** The stored session, or null when there is none or it is not one this app wrote. */
export function loadSession(): Session | null {
  const text = sessionStorage.getItem(KEY);
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return isSession(value) ? value : null;
}

/** Remembers a fresh login, or the token pair a refresh returned, for this tab. */
export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

/** The session that `login` or `refreshToken` returned. */
export function sessionFrom(payload: {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly user: Session['user'];
}): Session {
  return { token: payload.accessToken, refreshToken: payload.refreshToken, user: payload.user };
}

/**
 * Forgets the login: on logout, when the router refuses the access token for any reason but
 * expiry, and when a refresh is refused.
 */
export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

// The device token of this browser's last login as each username (see the README's login
// throttling): with it, strangers' failed logins at that username or from this network never
// lock this browser out. localStorage, unlike the session: it is worth nothing without the
// password, and must outlive the tab to be of use.
const deviceKey = (username: string) => `supergraph.device.${username.trim().toLowerCase()}`;

/** The device token this browser got at its last login as `username`, if any. */
export function deviceTokenFor(username: string): string | null {
  return localStorage.getItem(deviceKey(username));
}

export function saveDeviceToken(username: string, token: string | null | undefined): void {
  if (token) localStorage.setItem(deviceKey(username), token);
}

function isSession(value: unknown): value is Session {
  if (typeof value !== 'object' || value === null) return false;
  if (!('token' in value) || typeof value.token !== 'string' || value.token === '') return false;
  // A session stored before refresh tokens has none: log in again rather than half a session.
  if (
    !('refreshToken' in value) ||
    typeof value.refreshToken !== 'string' ||
    value.refreshToken === ''
  ) {
    return false;
  }
  if (!('user' in value) || typeof value.user !== 'object' || value.user === null) return false;
  const user = value.user;
  return (
    'id' in user &&
    typeof user.id === 'string' &&
    'username' in user &&
    typeof user.username === 'string' &&
    'fullName' in user &&
    (user.fullName === null || typeof user.fullName === 'string') &&
    'role' in user &&
    (user.role === 'ADMIN' || user.role === 'USER')
  );
}
