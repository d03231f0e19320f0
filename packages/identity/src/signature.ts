import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
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
  signature: 'x-identity-signature',
} as const;

// v2 added the scopes. A router and a subgraph on different versions refuse each other at once.
const SIGNATURE_VERSION = 'v2';

/** Requests older or newer than this are refused, which bounds how long a captured one can be replayed. */
export const DEFAULT_MAX_SKEW_SECONDS = 30;

/** The shortest HMAC secret we accept: 256 bits of hex or base64 is 43+ characters. */
export const MIN_SECRET_LENGTH = 32;

type HeaderLookup = (name: string) => string | undefined;

interface SignedFields {
  /** Which subgraph the request is for, so a request signed for one cannot be replayed at another. */
  audience: string;
  timestamp: string;
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
  const bodyHash = createHash('sha256').update(fields.body).digest('hex');
  return [
    SIGNATURE_VERSION,
    fields.audience,
    fields.timestamp,
    fields.userId ?? '',
    fields.role ?? '',
    fields.scopes ?? '',
    fields.clientIp ?? '',
    bodyHash,
  ].join('\n');
}

function hmac(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('hex');
}

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

/** Returns the timestamp and signature headers the router adds to a subgraph request. */
export function signRequest(input: SignRequestInput): Record<string, string> {
  const timestamp = String(input.now ?? Math.floor(Date.now() / 1000));
  const signature = hmac(
    input.secret,
    canonicalPayload({ ...input, scopes: input.scopes, clientIp: input.clientIp, timestamp }),
  );
  return {
    [IDENTITY_HEADERS.timestamp]: timestamp,
    [IDENTITY_HEADERS.signature]: `${SIGNATURE_VERSION}=${signature}`,
  };
}

export type VerifyResult =
  | {
      ok: true;
      identity: Identity | null;
      /** The caller's address as the router saw it; undefined when the router sent none. */
      clientIp: string | undefined;
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

/**
 * Checks the router's signature on an incoming subgraph request and, when it holds, returns the
 * caller's identity. Identity headers are only ever read through this function: a header that is
 * not covered by a valid, fresh signature is worth nothing.
 */
export function verifyRequest(input: VerifyRequestInput): VerifyResult {
  const signatureHeader = input.header(IDENTITY_HEADERS.signature);
  const timestamp = input.header(IDENTITY_HEADERS.timestamp);
  if (signatureHeader === undefined || timestamp === undefined)
    return { ok: false, reason: 'missing' };

  const prefix = `${SIGNATURE_VERSION}=`;
  if (!signatureHeader.startsWith(prefix) || !/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, reason: 'malformed' };
  }
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const maxSkew = input.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS;
  if (Math.abs(now - Number(timestamp)) > maxSkew) return { ok: false, reason: 'stale' };

  const userId = input.header(IDENTITY_HEADERS.userId);
  const role = input.header(IDENTITY_HEADERS.role);
  const scopes = input.header(IDENTITY_HEADERS.scopes);
  const clientIp = input.header(IDENTITY_HEADERS.clientIp);
  const expected = Buffer.from(
    hmac(
      input.secret,
      canonicalPayload({
        audience: input.audience,
        timestamp,
        userId,
        role,
        scopes,
        clientIp,
        body: input.body,
      }),
    ),
    'hex',
  );
  const given = Buffer.from(signatureHeader.slice(prefix.length), 'hex');
  // timingSafeEqual throws on unequal lengths, so compare lengths first (a length is no secret).
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'mismatch' };
  }

  if (userId === undefined && role === undefined && scopes === undefined)
    return { ok: true, identity: null, clientIp };
  const granted = parseIdentityScopes(scopes);
  if (userId === undefined || userId === '' || !isRole(role) || !granted)
    return { ok: false, reason: 'bad-identity' };
  return { ok: true, identity: createIdentity(userId, role, granted), clientIp };
}
