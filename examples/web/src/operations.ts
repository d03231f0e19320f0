import { graphql } from './gql/index.js';

/**
 * Every operation the app sends. graphql-codegen's client preset turns each into a typed
 * document (see src/gql/), and lists it in the persisted-documents manifest that the router's
 * safelist accepts: an operation that is not written here cannot run against a locked-down router.
 */
/** What the page keeps of a login or a refresh: the tokens and who they are for. */
export const SessionFieldsFragment = graphql(`
  fragment SessionFields on AuthPayload {
    accessToken
    expiresIn
    refreshToken
    user {
      id
      username
      fullName
      role
    }
  }
`);

export const LoginDocument = graphql(`
  mutation Login($username: String!, $password: String!, $deviceToken: String) {
    login(username: $username, password: $password, deviceToken: $deviceToken) {
      ...SessionFields
      deviceToken
    }
  }
`);

/**
 * Trades the session's refresh token for a new access token and a new refresh token. The one
 * sent stops working, and sending it again revokes the whole session (see client.ts).
 */
export const RefreshTokenDocument = graphql(`
  mutation RefreshToken($token: String!) {
    refreshToken(token: $token) {
      ...SessionFields
    }
  }
`);

/** Revokes the session's refresh tokens on the server. */
export const LogoutDocument = graphql(`
  mutation Logout($refreshToken: String!) {
    logout(refreshToken: $refreshToken)
  }
`);

export const MyOrdersDocument = graphql(`
  query MyOrders($first: Int!, $after: String) {
    me {
      id
      orders(first: $first, after: $after) {
        edges {
          cursor
          node {
            id
            item
            address
            createdAt
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const CreateOrderDocument = graphql(`
  mutation CreateOrder($input: CreateOrderInput!) {
    createOrder(input: $input) {
      id
      item
      address
      createdAt
    }
  }
`);

export const UsersDocument = graphql(`
  query Users($first: Int!, $after: String) {
    users(first: $first, after: $after) {
      edges {
        node {
          id
          username
          fullName
          email
          role
          createdAt
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);
