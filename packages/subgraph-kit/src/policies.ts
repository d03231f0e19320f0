import { isAdmin } from '@supergraph/identity';
import type { Policy } from './authorization.js';

/**
 * `@policy(policies: [["admin"]])`: the caller holds the admin scope, from their role or their
 * token. Used beside "self" and "owner".
 */
export const adminPolicy: Policy = ({ identity }) => isAdmin(identity);
