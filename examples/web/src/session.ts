import type { Role } from './gql/graphql.js';

/** Who is logged in: the access token the router checks, and the user it belongs to. */
export interface Session {
  readonly token: string;
  readonly user: {
    readonly id: string;
    readonly username: string;
    readonly fullName: string | null;
    readonly role: Role;
  };
}

// sessionStorage, not localStorage: the token dies with the tab instead of lingering on the
// machine, and a second tab logs in on its own. The router still checks every request, so a
// tampered value (say, a role changed to ADMIN) only changes what the page tries to show.
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

/** Remembers a fresh login for this tab. */
export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

/** Forgets the login: on logout, and when the router says the token is no good. */
export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

function isSession(value: unknown): value is Session {
  if (typeof value !== 'object' || value === null) return false;
  if (!('token' in value) || typeof value.token !== 'string' || value.token === '') return false;
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
