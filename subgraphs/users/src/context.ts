import type DataLoader from 'dataloader';
import type { AuthorizationContext } from '@supergraph/subgraph-kit';
import type { PasswordHasher } from './auth/passwords.js';
import type { TokenIssuer } from './auth/tokens.js';
import type { UserRecord, UserRepository } from './db/users.js';

/** The per-request context of the users subgraph. Loaders are per request, so nothing is cached across callers. */
export interface UsersContext extends AuthorizationContext {
  readonly users: UserRepository;
  readonly loaders: { readonly userById: DataLoader<string, UserRecord | null> };
  readonly passwords: PasswordHasher;
  readonly tokens: TokenIssuer;
}
