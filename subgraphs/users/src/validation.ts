import { badUserInput } from '@supergraph/service-kit';
import { MAX_PASSWORD_LENGTH } from './auth/passwords.js';

export const MIN_PASSWORD_LENGTH = 8;
const USERNAME = /^[a-z0-9._-]{3,32}$/;
// Deliberately loose: one @, something on each side, a dot in the domain. Real validation is a
// confirmation email, which is out of scope here.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Usernames are case-insensitive: stored and looked up in lower case. */
export function normalizeUsername(raw: string): string {
  return raw.trim().toLowerCase();
}

export function validUsername(raw: string): string {
  const username = normalizeUsername(raw);
  if (!USERNAME.test(username)) {
    throw badUserInput('A username has 3 to 32 characters: letters, digits, ".", "_" and "-".', {
      field: 'username',
    });
  }
  return username;
}

export function validPassword(password: string): string {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw badUserInput(
      `A password needs at least ${MIN_PASSWORD_LENGTH} characters (and at most ${MAX_PASSWORD_LENGTH}).`,
      {
        field: 'password',
      },
    );
  }
  return password;
}

/** An optional email: blank means none. */
export function validEmail(raw: string | null | undefined): string | null {
  const email = raw?.trim() ?? '';
  if (email === '') return null;
  if (email.length > 254 || !EMAIL.test(email)) {
    throw badUserInput(`"${email.slice(0, 254)}" is not an email address.`, { field: 'email' });
  }
  return email;
}

/** An optional full name: blank means none. */
export function validFullName(raw: string | null | undefined): string | null {
  const fullName = raw?.trim() ?? '';
  if (fullName === '') return null;
  if (fullName.length > 200)
    throw badUserInput('A full name has at most 200 characters.', { field: 'fullName' });
  return fullName;
}
