import { readFileSync } from 'node:fs';
import { Kind, parse } from 'graphql';
import { z } from 'zod';

/**
 * The example app's persisted documents manifest, as graphql-codegen writes it: the documents
 * the router runs by hash, in `enforce` mode the only ones.
 */
export const persistedDocuments: ReadonlyMap<string, string> = new Map(
  Object.entries(
    z
      .record(z.string(), z.string())
      .parse(
        JSON.parse(
          readFileSync(
            new URL('../examples/web/src/gql/persisted-documents.json', import.meta.url),
            'utf8',
          ),
        ),
      ),
  ).map(([key, document]) => [key.replace(/^sha256:/, ''), document]),
);

/**
 * The hash and exact text of the manifest's document for an operation. A document can start with
 * the fragments it uses, so it is found by parsing, not by its first line.
 */
export function persistedDocument(operationName: string): { hash: string; text: string } {
  for (const [hash, text] of persistedDocuments) {
    const named = parse(text).definitions.some(
      (definition) =>
        definition.kind === Kind.OPERATION_DEFINITION && definition.name?.value === operationName,
    );
    if (named) return { hash, text };
  }
  throw new Error(`${operationName} is not in the manifest`);
}
