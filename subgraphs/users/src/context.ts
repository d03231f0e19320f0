import type DataLoader from 'dataloader';
import type { AuthorizationContext } from '@supergraph/subgraph-kit';
import type { DeviceTokens } from './auth/deviceTokens.js';
import type { LoginThrottle } from './auth/loginThrottle.js';
import type { PasswordHasher } from './auth/passwords.js';
import type { Sessions } from './auth/sessions.js';
import type { UserRecord, UserRepository } from './db/users.js';
import type { UsersMetrics } from './metrics.js';

/** The per-request context of the users subgraph. Loaders are per request, so nothing is cached across callers. */
export interface UsersContext extends AuthorizationContext {
  readonly users: UserRepository;
  readonly loaders: { readonly userById: DataLoader<string, UserRecord | null> };
  readonly passwords: PasswordHasher;
  /** Access and refresh tokens: login, rotation, logout, revocation. */
  readonly sessions: Sessions;
  readonly loginThrottle: LoginThrottle;
  readonly deviceTokens: DeviceTokens;
  /** The caller's address, as the router signed it; null when it sent none. */
  readonly clientIp: string | null;
  readonly metrics: UsersMetrics;
}
