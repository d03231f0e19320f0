import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { z } from 'zod';
import { ConfigError, ErrorCode, HttpError } from '@supergraph/service-kit';
import {
  operationsOfDocument,
  type KnownOperation,
  type TrustedOperationNames,
} from '../metrics.js';
import type { RequestOperation } from './requestOperations.js';

/**
 * Trusted documents (persisted operations, safelisting): the operations our own clients send are
 * known at build time. graphql-codegen writes them to a manifest (hash -> document), clients send
 * only the hash, and the router can refuse everything else. OWASP's GraphQL cheat sheet
 * recommends this for first-party APIs: an attacker cannot run a query nobody wrote.
 *
 * - `off`: the manifest is not used.
 * - `allow`: operations can be sent by hash (from the manifest) or as ad-hoc query text.
 *   Development uses this, so Apollo Sandbox keeps working.
 * - `enforce`: only operations in the manifest run. Production's default.
 */
export const TRUSTED_DOCUMENT_MODES = ['off', 'allow', 'enforce'] as const;
export type TrustedDocumentMode = (typeof TRUSTED_DOCUMENT_MODES)[number];

/** graphql-codegen client preset's persisted-documents.json: `{ "sha256:<hex>": "<document>" }`. */
const Manifest = z.record(z.string().regex(/^sha256:[0-9a-f]{64}$/), z.string().min(1));

export interface TrustedDocuments {
  readonly mode: TrustedDocumentMode;
  /** How many documents the manifest holds. */
  readonly size: number;
  /**
   * Apollo Server's persisted-query cache, backed by the manifest and read-only: a hash resolves
   * to its document, and nothing a client sends is ever registered (that would be APQ, which
   * lets anyone add operations).
   */
  readonly cache: KeyValueCache<string>;
  /** Refuses, with a 400 a client can act on, a request that the mode does not allow. */
  check(operations: readonly RequestOperation[]): void;
  /** The manifest's operation names: the only ones the router's metrics use as labels. */
  readonly operations: TrustedOperationNames;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function loadTrustedDocuments(
  mode: TrustedDocumentMode,
  manifestPath: string,
): TrustedDocuments {
  const documents = mode === 'off' ? new Map<string, string>() : readManifest(manifestPath, mode);
  // Apollo Server prefixes persisted-query cache keys with "apq:".
  const cache: KeyValueCache<string> = {
    get: async (key) => documents.get(key.replace(/^apq:/, '')),
    set: async () => {},
    delete: async () => true,
  };

  const byHash = new Map<string, KnownOperation>();
  const names = new Set<string>();
  for (const [hash, document] of documents) {
    const defined = operationsOfDocument(document);
    for (const { name } of defined) if (name) names.add(name);
    if (defined.length === 1 && defined[0]) byHash.set(hash, defined[0]);
  }

  return {
    mode,
    size: documents.size,
    cache,
    operations: { names, byHash: (hash) => byHash.get(hash) },
    check(operations) {
      if (mode === 'off') return;
      for (const operation of operations) {
        const { query, hash } = operation;
        if (query !== undefined && hash !== undefined && sha256(query) !== hash) {
          throw new HttpError(
            400,
            ErrorCode.BAD_REQUEST,
            'The persisted query hash does not match the query text. Send the sha256 of the exact query, or the hash alone.',
          );
        }
        if (mode !== 'enforce') continue;
        const known =
          hash !== undefined
            ? documents.has(hash)
            : query !== undefined && documents.has(sha256(query));
        if (!known) {
          throw new HttpError(
            400,
            ErrorCode.PERSISTED_QUERY_NOT_IN_LIST,
            'This router only runs the operations of its own clients (trusted documents), and this one is not among them. Send the hash of an operation from the persisted documents manifest in extensions.persistedQuery.',
          );
        }
      }
    },
  };
}

function readManifest(path: string, mode: TrustedDocumentMode): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    if (mode === 'allow') return new Map();
    throw new ConfigError(
      `Invalid configuration:\n  PERSISTED_DOCUMENTS_PATH: ${path} cannot be read, and PERSISTED_DOCUMENTS_MODE=enforce needs it (npm run codegen writes it)`,
    );
  }
  const parsed = Manifest.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid configuration:\n  PERSISTED_DOCUMENTS_PATH: ${path} is not a persisted documents manifest`,
    );
  }
  const documents = new Map<string, string>();
  for (const [key, document] of Object.entries(parsed.data)) {
    const hash = key.slice('sha256:'.length);
    // A manifest entry whose hash is not its document's is a corrupted or hand-edited file.
    if (sha256(document) !== hash) {
      throw new ConfigError(
        `Invalid configuration:\n  PERSISTED_DOCUMENTS_PATH: the entry ${key} does not match its document`,
      );
    }
    documents.set(hash, document);
  }
  return documents;
}
