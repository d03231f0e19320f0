import { badUserInput, unauthenticated } from '@supergraph/service-kit';
import type { MutationResolvers } from '../generated/graphql.js';

function requiredText(value: string, field: string, max: number): string {
  const text = value.trim();
  if (text.length < 1 || text.length > max)
    throw badUserInput(`"${field}" needs 1 to ${max} characters.`, { field });
  return text;
}

export const Mutation: MutationResolvers = {
  createOrder: async (_parent, { input }, { identity, orders }) => {
    if (!identity) throw unauthenticated();
    return orders.insert({
      userId: identity.id,
      item: requiredText(input.item, 'item', 200),
      address: requiredText(input.address, 'address', 500),
    });
  },
};
