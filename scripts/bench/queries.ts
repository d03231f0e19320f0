/**
 * Two hops, three subgraph requests: users for `me`, orders `_entities` for the user's orders,
 * users `_entities` again for each order's owner. Six deep, the router's default limit. The
 * gateway-overhead scenario loads it on in-memory subgraphs, the real-graph one on MongoDB.
 */
export const MY_ORDERS = /* GraphQL */ `
  query MyOrders {
    me {
      id
      username
      orders(first: 10) {
        edges {
          node {
            id
            item
            user {
              id
              username
            }
          }
        }
      }
    }
  }
`;
