import { describe, expect, it } from 'vitest';
import { compareSchemas } from './breaking-changes.js';

const v1 = `
  type Query { me: User orders(first: Int = 20): [String!] }
  type User { id: ID! email: String role: Role! }
  enum Role { ADMIN USER }
`;

describe('compareSchemas', () => {
  it('lets additions and deprecations through', () => {
    const v2 = v1
      .replace('email: String', 'email: String @deprecated(reason: "use contact") contact: String')
      .replace('me: User', 'me: User version: String');
    expect(compareSchemas(v1, v2, [])).toEqual({
      unacknowledged: [],
      acknowledged: [],
      dangerous: [],
    });
  });

  it('reports a removed field and a changed type as breaking', () => {
    const v2 = v1.replace('email: String ', '').replace('id: ID!', 'id: String!');
    expect(compareSchemas(v1, v2, []).unacknowledged).toEqual([
      'Standard scalar ID was removed because it is not referenced anymore.',
      'User.email was removed.',
      'User.id changed type from ID! to String!.',
    ]);
  });

  it('accepts a breaking change once it is acknowledged', () => {
    const v2 = v1.replace('email: String ', '');
    expect(compareSchemas(v1, v2, ['User.email was removed.'])).toMatchObject({
      unacknowledged: [],
      acknowledged: ['User.email was removed.'],
    });
  });

  it('warns about dangerous changes without failing', () => {
    const v2 = v1.replace('ADMIN USER', 'ADMIN USER AUDITOR');
    expect(compareSchemas(v1, v2, [])).toMatchObject({
      unacknowledged: [],
      dangerous: ['AUDITOR was added to enum type Role.'],
    });
  });
});
