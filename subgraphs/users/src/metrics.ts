import { GraphQLError } from 'graphql';
import { Counter, ErrorCode, type Registry } from '@supergraph/service-kit';

/** How a login ended, as `supergraph_users_logins_total` counts it. */
export type LoginOutcome = 'success' | 'wrong_password' | 'throttled' | 'busy' | 'error';

export interface UsersMetrics {
  login(outcome: LoginOutcome): void;
}

const LOGINS = 'supergraph_users_logins_total';

/**
 * The users subgraph's own metrics, in `registry`. A subgraph built again on the same registry
 * (a restart in place, as after a key rotation) counts on into the same series.
 */
export function createUsersMetrics(registry: Registry): UsersMetrics {
  const registered = registry.getSingleMetric(LOGINS);
  if (registered instanceof Counter) return { login: (outcome) => registered.inc({ outcome }) };
  const logins = new Counter({
    name: LOGINS,
    help: 'Logins by outcome: success, wrong_password (or unknown username), throttled (LOGIN_THROTTLED), busy (no password slot free) or error (the database, a bug).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  // Zero from the start, so that a dashboard's rate() sees the first of each.
  for (const outcome of ['success', 'wrong_password', 'throttled', 'busy', 'error'] as const) {
    logins.inc({ outcome }, 0);
  }
  return { login: (outcome) => logins.inc({ outcome }) };
}

/** The outcome of a login that threw `error`. */
export function loginOutcomeOf(error: unknown): LoginOutcome {
  const code = error instanceof GraphQLError ? error.extensions['code'] : undefined;
  if (code === ErrorCode.UNAUTHENTICATED) return 'wrong_password';
  if (code === ErrorCode.LOGIN_THROTTLED) return 'throttled';
  // The password slots' refusal (auth/passwords.ts); a database outage is no GraphQLError here.
  if (code === ErrorCode.SERVICE_UNAVAILABLE) return 'busy';
  return 'error';
}
