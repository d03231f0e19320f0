import { badUserInput, unauthenticated } from '@supergraph/service-kit';
import type { MutationResolvers } from '../generated/graphql.js';

function requiredText(value: string, field: string, max: number): string {
  const text = value.trim();
  if (text.length < 1 || text.length > max)
    throw badUserInput(`"${field}" needs 1 to ${max} characters.`, { field });
  return text;
}

/**
 * Client-chosen, so bounded and plain: a UUID fits, and nothing in it can be mistaken for
 * markup or a query operator. Keep in step with the schema's description of the field.
 */
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;

function idempotencyKey(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(value)) {
    throw badUserInput(
      '"idempotencyKey" needs 1 to 128 characters, each a letter, a digit or one of . _ : -',
      { field: 'idempotencyKey' },
    );
  }
  return value;
}

export const Mutation: MutationResolvers = {
  createOrder: async (_parent, { input }, { identity, placement }) => {
    if (!identity) throw unauthenticated();
    return placement.place(
      identity.id,
      {
        item: requiredText(input.item, 'item', 200),
        address: requiredText(input.address, 'address', 500),
      },
      idempotencyKey(input.idempotencyKey),
    );
  },
};
