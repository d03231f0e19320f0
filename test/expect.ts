import { expect } from 'vitest';
import type { GraphQLResponse } from './graph.js';

/** The value at a response path such as `['user', 'email']`. */
export function at(body: GraphQLResponse['body'], path: readonly (string | number)[]): unknown {
  let value: unknown = body.data;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/**
 * A denied field: null at its path, with exactly one error there carrying `code`, and no
 * errors elsewhere, so the rest of the response resolved.
 */
export function expectDenied(
  response: GraphQLResponse,
  path: readonly (string | number)[],
  code: 'FORBIDDEN' | 'UNAUTHENTICATED',
): void {
  expect(response.status).toBe(200);
  expect(response.body.errors, JSON.stringify(response.body)).toHaveLength(1);
  const [error] = response.body.errors ?? [];
  expect(error?.path).toEqual(path);
  expect(error?.extensions?.['code']).toBe(code);
  expect(error?.message).toMatch(/\S/);
  if (response.body.data !== null) expect(at(response.body, path)).toBeNull();
}

/** A response with data and no errors at all. */
export function expectOk(response: GraphQLResponse): NonNullable<GraphQLResponse['body']['data']> {
  expect(response.status).toBe(200);
  expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
  expect(response.body.data).toBeTruthy();
  return response.body.data ?? {};
}

/** A request-level or field error with this code, and nothing that smells of a server fault. */
export function expectError(response: GraphQLResponse, code: string, message?: RegExp): void {
  expect(response.status).toBeLessThan(500);
  const codes = (response.body.errors ?? []).map((error) => error.extensions?.['code']);
  expect(codes, JSON.stringify(response.body)).toContain(code);
  expect(codes).not.toContain('INTERNAL_SERVER_ERROR');
  if (message) {
    expect(response.body.errors?.map((error) => error.message).join('\n')).toMatch(message);
  }
}
