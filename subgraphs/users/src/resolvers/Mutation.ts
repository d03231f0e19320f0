import { GraphQLError } from 'graphql';
import type { ObjectId } from 'mongodb';
import { createIdentity, isAdmin } from '@supergraph/identity';
import {
  badUserInput,
  ErrorCode,
  forbidden,
  parseObjectId,
  unauthenticated,
} from '@supergraph/service-kit';
import { MAX_PASSWORD_LENGTH } from '../auth/passwords.js';
import type { Session } from '../auth/sessions.js';
import type { UsersContext } from '../context.js';
import { UsernameTakenError, type UserChanges, type UserRecord } from '../db/users.js';
import type { MutationResolvers } from '../generated/graphql.js';
import { loginOutcomeOf } from '../metrics.js';
import {
  normalizeUsername,
  validEmail,
  validFullName,
  validPassword,
  validUsername,
} from '../validation.js';

// One message for an unknown user and a wrong password, so the answer reveals nothing (issue #2).
const LOGIN_FAILED = 'Invalid username or password.';

/** `AuthPayload` for a session, with its user readable as "self" by the still-anonymous caller. */
function authPayload(session: Session, context: UsersContext) {
  const { user } = session;
  context.viewerFor.set(user, createIdentity(user._id.toHexString(), user.role));
  return { ...session, tokenType: 'Bearer' };
}

export const Mutation: MutationResolvers = {
  // One bounded slot per login, for all of it (throttling, the hash, the session): a flood of
  // logins waits briefly or is refused at once, and never queues database work (issue #11).
  login: (_parent, { username, password, deviceToken }, context) => {
    // Before the wait for a slot: logins that arrive together are in flight together.
    const startedAt = new Date();
    return countLogin(context, () =>
      context.passwords.bounded(async () => {
        const name = normalizeUsername(username);
        // Counted before the password is checked, for the username whether or not it exists.
        const attempt = await context.loginThrottle.admit({
          username: name,
          clientIp: context.clientIp,
          deviceId: context.deviceTokens.verify(deviceToken, name),
          startedAt,
        });
        const valid = await checkPassword(name, password, context);
        if (!valid) {
          await attempt.failed();
          throw unauthenticated(LOGIN_FAILED);
        }

        await attempt.succeeded();
        const session = await context.sessions.start(valid.user, valid.passwordHash);
        return { ...authPayload(session, context), deviceToken: context.deviceTokens.issue(name) };
      }),
    );
  },

  refreshToken: async (_parent, { token }, context) =>
    authPayload(await context.sessions.refresh(token), context),

  logout: (_parent, { refreshToken }, { sessions }) => sessions.logout(refreshToken),

  createUser: async (_parent, { input }, { users, passwords }) => {
    const username = validUsername(input.username);
    const password = validPassword(input.password);
    const fullName = validFullName(input.fullName);
    const email = validEmail(input.email);
    try {
      return await users.insert({
        username,
        passwordHash: await passwords.bounded(() => passwords.hash(password)),
        fullName,
        email,
        role: input.role ?? 'USER',
      });
    } catch (error) {
      // Concurrent creates of one username: the unique index lets exactly one through.
      if (error instanceof UsernameTakenError)
        throw badUserInput(error.message, { field: 'username' });
      throw error;
    }
  },

  updateUser: async (_parent, { id, input }, context) => {
    const { identity, users, passwords, sessions } = context;
    const userId = parseObjectId(id);
    // A stolen access token must not be enough to take the account: new credentials (a password,
    // or the email a reset would go to) need the current password too.
    if (
      identity?.id === userId.toHexString() &&
      (input.password !== undefined || input.email !== undefined)
    ) {
      await passwords.bounded(() => checkCurrentPassword(userId, input.currentPassword, context));
    }
    const changes: UserChanges = {};
    if (input.fullName !== undefined) changes.fullName = validFullName(input.fullName);
    if (input.email !== undefined) changes.email = validEmail(input.email);
    if (input.password !== undefined) {
      if (input.password === null)
        throw badUserInput('password cannot be null; leave it out to keep it.', {
          field: 'password',
        });
      const password = validPassword(input.password);
      changes.passwordHash = await passwords.bounded(() => passwords.hash(password));
    }
    if (input.role !== undefined) {
      // The SDL lets a user update themself; this is the one field of theirs they may not touch.
      if (!isAdmin(identity)) throw forbidden('Only an admin can change a role.');
      if (input.role === null)
        throw badUserInput('role cannot be null; leave it out to keep it.', { field: 'role' });
      changes.role = input.role;
    }
    const updated = await users.update(userId, changes);
    if (!updated)
      throw new GraphQLError(`No user has the id ${id}.`, {
        extensions: { code: ErrorCode.NOT_FOUND },
      });
    // Demoted after the fact and checked then, not before: two admins demoting each other at
    // once both see the other one gone, and both are put back, so no moment of "no admin" lasts.
    if (changes.role === 'USER' && (await users.countAdmins()) === 0) {
      await users.update(userId, { role: 'ADMIN' });
      throw lastAdmin();
    }
    // Whoever knew the old password may hold a session: a new password ends them all. A new
    // role ends the access tokens that state the old one; a refresh gets one with the new role.
    if (changes.passwordHash) await sessions.revokeUser(userId);
    else if (changes.role) await sessions.revokeAccessTokens(userId);
    return updated;
  },

  deleteUser: async (_parent, { id }, { identity, users, sessions }) => {
    const userId = parseObjectId(id);
    // An admin who deletes themself could leave the graph with no admin at all.
    if (identity?.id === userId.toHexString())
      throw badUserInput('You cannot delete your own account.');
    const target = (await users.findByIds([userId]))[0];
    if (target?.role === 'ADMIN' && (await users.countAdmins()) <= 1) throw lastAdmin();
    const deleted = await users.delete(userId);
    // `refreshToken` would refuse them anyway (it reads the user); this makes it explicit.
    if (deleted) await sessions.revokeUser(userId);
    return deleted;
  },
};

/** Runs a login and counts how it ended (`supergraph_users_logins_total`). */
async function countLogin<T>(context: UsersContext, login: () => Promise<T>): Promise<T> {
  try {
    const result = await login();
    context.metrics.login('success');
    return result;
  } catch (error) {
    context.metrics.login(loginOutcomeOf(error));
    throw error;
  }
}

/**
 * The user's credentials when `password` is theirs, else null. An unknown username costs a hash
 * all the same, so that timing does not tell which usernames exist.
 */
async function checkPassword(
  username: string,
  password: string,
  context: UsersContext,
): Promise<{ user: UserRecord; passwordHash: string } | null> {
  const found =
    password.length <= MAX_PASSWORD_LENGTH ? await context.users.findCredentials(username) : null;
  const valid = found
    ? await context.passwords.verify(found.passwordHash, password)
    : await context.passwords.verifyNobody(password.slice(0, MAX_PASSWORD_LENGTH));
  return found && valid ? found : null;
}

async function checkCurrentPassword(
  userId: ObjectId,
  currentPassword: string | null | undefined,
  context: UsersContext,
): Promise<void> {
  if (typeof currentPassword !== 'string' || currentPassword === '') {
    throw badUserInput(
      'Changing your own password or email needs your current password: send it as currentPassword.',
      { field: 'currentPassword' },
    );
  }
  const [self] = await context.users.findByIds([userId]);
  if (!self) return;
  // As a login: a stolen token must not make guessing the password cheaper.
  const attempt = await context.loginThrottle.admit({
    username: self.username,
    clientIp: context.clientIp,
  });
  const valid = await checkPassword(self.username, currentPassword, context);
  if (!valid) {
    await attempt.failed();
    throw badUserInput('currentPassword is not your current password.', {
      field: 'currentPassword',
    });
  }
  await attempt.succeeded();
}

/** The graph always keeps one user with the role ADMIN: nobody could make another one. */
function lastAdmin(): GraphQLError {
  return badUserInput(
    'This is the last admin. Make another user an admin first, then change or delete this one.',
    { reason: 'last-admin' },
  );
}
