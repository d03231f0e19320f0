import type { RawRequest } from '@supergraph/service-kit';

/** One GraphQL operation as a request carries it, before Apollo Server has looked at it. */
export interface RequestOperation {
  readonly query?: string;
  /** `extensions.persistedQuery.sha256Hash`. */
  readonly hash?: string;
  readonly operationName?: string;
  readonly variables?: Readonly<Record<string, unknown>>;
}

/**
 * The operations in a request: a JSON body (or a batch of them, which Apollo Server then
 * refuses), or a GET's parameters. The router's checks that run before Apollo Server parses
 * anything (trusted documents, request limits) read them from here.
 *
 * Each field is read on its own, and one that is malformed is left out for Apollo Server to
 * refuse with its own error. Reading them as one object would let a malformed neighbour (say
 * `"extensions": null`, which Apollo Server accepts) drop `operationName` and `variables`, and
 * with them the operation the limits must measure.
 */
export function operationsOf(request: RawRequest, body: unknown): RequestOperation[] {
  let candidates: unknown[];
  if (request.method === 'GET') {
    const params = new URLSearchParams(request.search);
    // No operation at all: a browser opening the landing page, which Apollo Server handles.
    if (!params.has('query') && !params.has('extensions')) return [];
    candidates = [
      {
        query: params.get('query') ?? undefined,
        operationName: params.get('operationName') ?? undefined,
        variables: parseJson(params.get('variables')),
        extensions: parseJson(params.get('extensions')),
      },
    ];
  } else {
    candidates = Array.isArray(body) ? body : [body];
  }
  return candidates.map((candidate) => {
    if (!isObject(candidate)) return {};
    const { query, operationName, variables, extensions } = candidate;
    const persistedQuery = isObject(extensions) ? extensions['persistedQuery'] : undefined;
    const hash = isObject(persistedQuery) ? persistedQuery['sha256Hash'] : undefined;
    return {
      ...(typeof query === 'string' ? { query } : {}),
      ...(typeof hash === 'string' ? { hash } : {}),
      ...(typeof operationName === 'string' && operationName ? { operationName } : {}),
      ...(isObject(variables) ? { variables } : {}),
    };
  });
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string | null): unknown {
  try {
    return JSON.parse(text ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
}
