import {
  createHmac,
  createSecretKey,
  hash,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { createIdentity, isRole, parseIdentityScopes, type Identity } from './identity.js';

/**
 * Header names of the router-to-subgraph identity contract. The router sets the identity headers
 * only for an authenticated caller, and signs every request, anonymous ones included.
 * `x-client-ip` is the caller's address as the router saw it, so that a subgraph can throttle by
 * address (login); it is signed like the identity, because a subgraph only ever sees the router's
 * own address and must not take a client's word for where it is.
 */
export const IDENTITY_HEADERS = {
  userId: 'x-user-id',
  role: 'x-user-role',
  /** The caller's scopes, space-separated; sent only when there are any. */
  scopes: 'x-user-scopes',
  clientIp: 'x-client-ip',
  timestamp: 'x-identity-timestamp',
  /**
   * 128 random bits, base64url, new for every request. A subgraph accepts each id once (see
   * packages/subgraph-kit/src/requestIds.ts), so a request captured on the way cannot be replayed.
   */
  requestId: 'x-identity-request-id',
  signature: 'x-identity-signature',
} as const;

// v2 added the scopes, v3 the request id. A router and a subgraph on different versions refuse
// each other at once.
const SIGNATURE_VERSION = 'v3';

/**
 * How far a request's timestamp may be from the subgraph's clock, either way. It only has to
 * cover the clock skew between the router and the subgraphs plus the request's time in flight:
 * replays inside the window are refused by the request id, and the ids are kept for as long as
 * this window says, so a shorter one is also a smaller store.
 */
export const DEFAULT_MAX_SKEW_SECONDS = 10;

// Exact formats, so that nothing can ride along after a valid value (a second header joined on
// with ", ", trailing bytes) and nothing is read that was not signed.
const SIGNATURE_FORMAT = new RegExp(`^${SIGNATURE_VERSION}=[0-9a-f]{64}$`);
/** Seconds since the epoch, in decimal, without leading zeros. */
const TIMESTAMP_FORMAT = /^(0|[1-9][0-9]{0,11})$/;
/** 16 bytes in base64url without padding. */
const REQUEST_ID_FORMAT = /^[A-Za-z0-9_-]{22}$/;
const REQUEST_ID_BYTES = 16;

/** The shortest HMAC secret we accept: 256 bits of hex or base64 is 43+ characters. */
export const MIN_SECRET_LENGTH = 32;

/**
 * Every value a request carries for a header: an array when the transport keeps repeated headers
 * apart (Node's `headersDistinct`), a string when there was exactly one, undefined when none.
 */
type HeaderLookup = (name: string) => string | readonly string[] | undefined;

interface SignedFields {
  /** Which subgraph the request is for, so a request signed for one cannot be replayed at another. */
  audience: string;
  timestamp: string;
  requestId: string;
  userId: string | undefined;
  role: string | undefined;
  scopes: string | undefined;
  clientIp: string | undefined;
  body: string | Uint8Array;
}

/**
 * The exact bytes that the HMAC covers. Every field that changes what the subgraph does is in it:
 * who the caller is, from which address, which subgraph, when, and the whole GraphQL request body.
 */
function canonicalPayload(fields: SignedFields): string {
  const bodyHash = hash('sha256', fields.body, 'hex');
  return [
    SIGNATURE_VERSION,
    fields.audience,
    fields.timestamp,
    fields.requestId,
    fields.userId ?? '',
    fields.role ?? '',
    fields.scopes ?? '',
    fields.clientIp ?? '',
    bodyHash,
  ].join('\n');
}

function hmac(secret: string, payload: string): string {
  return createHmac('sha256', keyOf(secret)).update(payload).digest('hex');
}

/** The secret as a key, made once: every subgraph request is signed and checked with it. */
function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    // A service holds one secret (tests a few); the cache must not grow with a caller that
    // passes a new one each time.
    if (keys.size >= MAX_CACHED_KEYS) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

const keys = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 8;

/**
 * A new request id: 16 bytes from the CSPRNG, taken from a block fetched 256 ids at a time, as
 * Node does for randomUUID. Each id is fresh random bytes; only the calls into the CSPRNG are
 * fewer.
 */
function newRequestId(): string {
  if (requestIdOffset + REQUEST_ID_BYTES > requestIdBlock.length) {
    requestIdBlock = randomBytes(REQUEST_ID_BYTES * 256);
    requestIdOffset = 0;
  }
  const id = requestIdBlock.toString(
    'base64url',
    requestIdOffset,
    requestIdOffset + REQUEST_ID_BYTES,
  );
  requestIdOffset += REQUEST_ID_BYTES;
  return id;
}

let requestIdBlock = Buffer.alloc(0);
let requestIdOffset = 0;

export interface SignRequestInput {
  secret: string;
  audience: string;
  /** The identity headers as they will be sent; absent for an anonymous caller. */
  userId: string | undefined;
  role: string | undefined;
  /** The `x-user-scopes` header as it will be sent; absent when the caller has no scopes. */
  scopes?: string | undefined;
  /** The `x-client-ip` header as it will be sent; absent when the router does not know it. */
  clientIp?: string | undefined;
  body: string | Uint8Array;
  /** Seconds since the epoch; defaults to now. */
  now?: number;
}

/**
 * Returns the timestamp, request id and signature headers the router adds to a subgraph
 * request. Each call makes a new request id: sign every request, retries included, anew.
 */
export function signRequest(input: SignRequestInput): Record<string, string> {
  const timestamp = String(input.now ?? Math.floor(Date.now() / 1000));
  const requestId = newRequestId();
  const signature = hmac(
    input.secret,
    canonicalPayload({
      ...input,
      scopes: input.scopes,
      clientIp: input.clientIp,
      timestamp,
      requestId,
    }),
  );
  return {
    [IDENTITY_HEADERS.timestamp]: timestamp,
    [IDENTITY_HEADERS.requestId]: requestId,
    [IDENTITY_HEADERS.signature]: `${SIGNATURE_VERSION}=${signature}`,
  };
}

export type VerifyResult =
  | {
      ok: true;
      identity: Identity | null;
      /** The caller's address as the router saw it; undefined when the router sent none. */
      clientIp: string | undefined;
      /** The signed request id: accept it once (the caller's replay store decides). */
      requestId: string;
      /** The signed timestamp, in seconds since the epoch. */
      timestamp: number;
    }
  | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' | 'bad-identity' };

export interface VerifyRequestInput {
  secret: string;
  audience: string;
  header: HeaderLookup;
  body: string | Uint8Array;
  now?: number;
  maxSkewSeconds?: number;
}

type IdentityHeaderValues = { readonly [K in keyof typeof IDENTITY_HEADERS]: string | undefined };

/**
 * Reads the identity headers, each at most once: a header sent twice is refused whole, since
 * which copy a proxy, the signature and the code after it would each read is anybody's guess.
 */
function readIdentityHeaders(header: HeaderLookup): IdentityHeaderValues | undefined {
  let repeated = false;
  const only = (name: string): string | undefined => {
    const value = header(name);
    if (value === undefined || typeof value === 'string') return value;
    if (value.length > 1) repeated = true;
    return value[0];
  };
  const values: IdentityHeaderValues = {
    userId: only(IDENTITY_HEADERS.userId),
    role: only(IDENTITY_HEADERS.role),
    scopes: only(IDENTITY_HEADERS.scopes),
    clientIp: only(IDENTITY_HEADERS.clientIp),
    timestamp: only(IDENTITY_HEADERS.timestamp),
    requestId: only(IDENTITY_HEADERS.requestId),
    signature: only(IDENTITY_HEADERS.signature),
  };
  return repeated ? undefined : values;
}

/**
 * Checks the router's signature on an incoming subgraph request and, when it holds, returns the
 * caller's identity and the request's id. Identity headers are only ever read through this
 * function: a header that is not covered by a valid, fresh signature is worth nothing. Whether
 * the id was seen before is the caller's to check (it needs a store shared by the replicas).
 */
export function verifyRequest(input: VerifyRequestInput): VerifyResult {
  const headers = readIdentityHeaders(input.header);
  if (!headers) return { ok: false, reason: 'malformed' };
  const { signature: signatureHeader, timestamp, requestId } = headers;
  if (signatureHeader === undefined || timestamp === undefined || requestId === undefined)
    return { ok: false, reason: 'missing' };

  if (
    !SIGNATURE_FORMAT.test(signatureHeader) ||
    !TIMESTAMP_FORMAT.test(timestamp) ||
    !REQUEST_ID_FORMAT.test(requestId)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const maxSkew = input.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS;
  if (Math.abs(now - Number(timestamp)) > maxSkew) return { ok: false, reason: 'stale' };

  const { userId, role, scopes, clientIp } = headers;
  const expected = Buffer.from(
    hmac(
      input.secret,
      canonicalPayload({
        audience: input.audience,
        timestamp,
        requestId,
        userId,
        role,
        scopes,
        clientIp,
        body: input.body,
      }),
    ),
    'hex',
  );
  // The format check above makes this exactly 32 bytes, as long as `expected`.
  const given = Buffer.from(signatureHeader.slice(SIGNATURE_VERSION.length + 1), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'mismatch' };
  }

  const signed = { clientIp, requestId, timestamp: Number(timestamp) };
  if (userId === undefined && role === undefined && scopes === undefined)
    return { ok: true, identity: null, ...signed };
  const granted = parseIdentityScopes(scopes);
  if (userId === undefined || userId === '' || !isRole(role) || !granted)
    return { ok: false, reason: 'bad-identity' };
  return { ok: true, identity: createIdentity(userId, role, granted), ...signed };
}
