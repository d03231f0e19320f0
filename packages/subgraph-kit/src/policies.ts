import type { Policy } from './authorization.js';

/** `@policy(policies: [["admin"]])`: the caller's role is ADMIN. Used beside "self" and "owner". */
export const adminPolicy: Policy = ({ identity }) => identity?.role === 'ADMIN';
