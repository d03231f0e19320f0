import { DateTimeScalar } from '@supergraph/subgraph-kit';
import type { Resolvers } from '../generated/graphql.js';
import { Mutation } from './Mutation.js';
import { Order } from './Order.js';
import { Query } from './Query.js';
import { User } from './User.js';

export const resolvers: Resolvers = { DateTime: DateTimeScalar, Query, Mutation, Order, User };
