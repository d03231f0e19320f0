import { badUserInput } from '@supergraph/service-kit';

/** The largest page a connection field returns (issue #2: `first` is capped at 100). */
export const MAX_PAGE_SIZE = 100;

/** Validates a connection's `first` argument: 1 to 100, else BAD_USER_INPUT. */
export function pageSize(first: number | null | undefined, fallback = 20): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw badUserInput(`"first" must be between 1 and ${MAX_PAGE_SIZE}; got ${size}.`, {
      argumentName: 'first',
    });
  }
  return size;
}

/** Cursors are opaque to clients: base64url of a small JSON object that the subgraph validates. */
export function encodeCursor(position: Readonly<Record<string, string | number>>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor made by `encodeCursor`, or throws BAD_USER_INPUT: a client that sends a
 * cursor we did not make gets a clear error, never an internal one.
 */
export function decodeCursor<T>(cursor: string, isPosition: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!isPosition(value)) {
    throw badUserInput(
      '"after" is not a cursor from this API. Pass the endCursor of a previous page.',
      {
        argumentName: 'after',
      },
    );
  }
  return value;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/**
 * Builds a Relay connection from up to `size + 1` rows: the extra row, when present, only tells
 * that there is a next page.
 */
export function toConnection<T>(
  rows: readonly T[],
  size: number,
  cursorOf: (row: T) => string,
): Connection<T> {
  const page = rows.slice(0, size);
  const edges = page.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
