import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { DocumentNode } from 'graphql';
import { loadSession } from './session.js';

/**
 * Codes the page tells apart. The server's come from `extensions.code`; NETWORK_ERROR and
 * BAD_RESPONSE are this client's own, for answers that never were GraphQL.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'PERSISTED_QUERY_NOT_IN_LIST'
  | 'NETWORK_ERROR'
  | 'BAD_RESPONSE'
  | 'UNKNOWN';

/** A request that did not produce data: `message` is the server's, when there was a server. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The HTTP status, or null when no response arrived. */
    readonly status: number | null,
  ) {
    super(message);
  }
}

/**
 * Runs one of the app's operations through the router. Only the document's hash is sent (the
 * "trusted documents" protocol, Apollo's persisted-query extension): the router looks the text up
 * in the manifest graphql-codegen wrote, and in enforce mode refuses anything not in it, so this
 * page cannot be used to send arbitrary queries with a user's token.
 *
 * Resolves with `data` when there are no errors; otherwise rejects with an {@link ApiError}
 * carrying the first error's code.
 */
export async function request<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  const token = loadSession()?.token;
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({
        operationName: operationName(document),
        variables,
        extensions: { persistedQuery: { version: 1, sha256Hash: persistedHash(document) } },
      }),
    });
  } catch {
    // fetch rejects only when no response arrived at all: offline, DNS, connection refused.
    throw new ApiError('NETWORK_ERROR', 'Cannot reach the server.', null);
  }

  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }

  if (!isRecord(body)) {
    // Not GraphQL at all. A proxy in front of a router that is down answers 502/503/504, and
    // Vite's dev proxy answers a bare 500: to a person all of these mean the server is away.
    if (response.status === 401) {
      throw new ApiError('UNAUTHENTICATED', 'Not logged in.', response.status);
    }
    if (response.status >= 500) {
      throw new ApiError('NETWORK_ERROR', 'Cannot reach the server.', response.status);
    }
    throw new ApiError('BAD_RESPONSE', `Unexpected HTTP ${response.status}.`, response.status);
  }

  const errors: unknown[] = Array.isArray(body['errors']) ? body['errors'] : [];
  const [error] = errors;
  if (error !== undefined || !response.ok) {
    const message =
      isRecord(error) && typeof error['message'] === 'string'
        ? error['message']
        : `HTTP ${response.status}`;
    const extensions = isRecord(error) && isRecord(error['extensions']) ? error['extensions'] : {};
    // A 401 is the router refusing the token itself, whatever code the body carries.
    const code = response.status === 401 ? 'UNAUTHENTICATED' : toErrorCode(extensions['code']);
    throw new ApiError(code, message, response.status);
  }

  const data = body['data'];
  if (!isResultOf(document, data)) {
    throw new ApiError('BAD_RESPONSE', 'The response had no data.', response.status);
  }
  return data;
}

/**
 * The hash graphql-codegen's client preset puts on every document it generates
 * (`persistedDocuments` in codegen.ts), without its `sha256:` prefix, as the
 * persisted-query extension expects.
 */
function persistedHash(document: DocumentNode): string {
  const meta = '__meta__' in document ? document.__meta__ : undefined;
  const hash = isRecord(meta) ? meta['hash'] : undefined;
  if (typeof hash !== 'string') {
    // A document written by hand, not through graphql() and codegen: the router would refuse it.
    throw new Error('This document has no persisted hash; run `npm run codegen`.');
  }
  return hash.replace(/^sha256:/, '');
}

function operationName(document: DocumentNode): string | undefined {
  for (const definition of document.definitions) {
    if ('operation' in definition) return definition.name?.value;
  }
  return undefined;
}

/**
 * `data` is what the router produced for this very document, validated against the schema the
 * document's types were generated from, so an object is all there is left to check here.
 */
function isResultOf<TResult, TVariables>(
  _document: TypedDocumentNode<TResult, TVariables>,
  data: unknown,
): data is TResult {
  return isRecord(data);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A server code the page handles, or UNKNOWN for the rest (INTERNAL_SERVER_ERROR and co.). */
function toErrorCode(code: unknown): ErrorCode {
  switch (code) {
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
    case 'BAD_USER_INPUT':
    case 'PERSISTED_QUERY_NOT_FOUND':
    case 'PERSISTED_QUERY_NOT_IN_LIST':
      return code;
    default:
      return 'UNKNOWN';
  }
}
