import { z } from 'zod';
import type { RawRequest } from '@supergraph/service-kit';

/** One GraphQL operation as a request carries it, before Apollo Server has looked at it. */
export interface RequestOperation {
  readonly query?: string;
  /** `extensions.persistedQuery.sha256Hash`. */
  readonly hash?: string;
  readonly operationName?: string;
  readonly variables?: Readonly<Record<string, unknown>>;
}

const Operation = z.object({
  query: z.string().optional(),
  operationName: z.string().nullish(),
  variables: z.record(z.string(), z.unknown()).nullish(),
  extensions: z
    .object({ persistedQuery: z.object({ sha256Hash: z.string() }).optional() })
    .optional(),
});

/**
 * The operations in a request: a JSON body (or a batch of them, which Apollo Server then
 * refuses), or a GET's parameters. The router's checks that run before Apollo Server parses
 * anything (trusted documents, request limits) read them from here. A malformed part is left
 * out, for Apollo Server to refuse with its own error, but never in a way that lets a query
 * slip past a check: a query text that is there is always returned.
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
    const parsed = Operation.safeParse(candidate);
    if (!parsed.success) {
      // Still check a query text next to, say, malformed variables.
      const query =
        typeof candidate === 'object' && candidate !== null && 'query' in candidate
          ? candidate.query
          : undefined;
      return typeof query === 'string' ? { query } : {};
    }
    const { query, operationName, variables, extensions } = parsed.data;
    const hash = extensions?.persistedQuery?.sha256Hash;
    return {
      ...(query === undefined ? {} : { query }),
      ...(hash === undefined ? {} : { hash }),
      ...(operationName ? { operationName } : {}),
      ...(variables ? { variables } : {}),
    };
  });
}

function parseJson(text: string | null): unknown {
  try {
    return JSON.parse(text ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
}
