import { verifyRequest, type Identity } from '@supergraph/identity';
import {
  describeError,
  ErrorCode,
  HttpError,
  isDatabaseUnavailable,
  type Logger,
  type RawRequest,
  setRequestUserId,
} from '@supergraph/service-kit';
import type { RequestIdStore } from './requestIds.js';

export interface IdentityGateOptions {
  secret: string;
  /** This subgraph's name, as the router signs it (`users`, `orders`). */
  audience: string;
  maxSkewSeconds?: number;
  /** The request ids already accepted, shared by this subgraph's replicas. */
  requestIds: Pick<RequestIdStore, 'claim'>;
  logger: Logger;
}

/** What a request carries once the router's signature on it holds. */
export interface VerifiedRequest {
  /** The caller, or null for an anonymous caller the router vouched for. */
  readonly identity: Identity | null;
  /**
   * The caller's address as the router saw it (signed, so a client cannot choose it), or null
   * when the router sent none. Login throttling keys on it.
   */
  readonly clientIp: string | null;
}

/**
 * The first thing a subgraph does with any GraphQL request: check the router's signature, and
 * refuse with 401 before the body is parsed when it does not hold. That covers `_entities`,
 * `_service` and introspection as well as ordinary fields, so a request sent straight to a
 * subgraph with a forged `x-user-id` gets nothing.
 *
 * A signed request is then accepted once: its request id is recorded in the database, and a
 * second request with the same id, a captured request sent again, gets the same 401. When the
 * id cannot be recorded (the database is down or slow) the answer is 503: the request may be
 * fine, but it cannot be checked now.
 *
 * Returns what the signature vouches for: the caller's identity and address.
 */
export function createIdentityGate(
  options: IdentityGateOptions,
): (request: RawRequest) => Promise<VerifiedRequest> {
  const refuse = (request: RawRequest, reason: string, requestId?: string) => {
    options.logger.warn('refused a request without a valid router signature', {
      reason,
      ...(requestId === undefined ? {} : { signedRequestId: requestId }),
      remoteAddress: request.remoteAddress,
    });
    return new HttpError(
      401,
      ErrorCode.UNAUTHENTICATED,
      'This subgraph only answers requests signed by the router. Send your request to the router instead.',
    );
  };

  return async (request) => {
    const result = verifyRequest({
      secret: options.secret,
      audience: options.audience,
      header: (name) => request.headersDistinct[name],
      body: request.body,
      ...(options.maxSkewSeconds === undefined ? {} : { maxSkewSeconds: options.maxSkewSeconds }),
    });
    if (!result.ok) throw refuse(request, result.reason);

    let first: boolean;
    try {
      first = await options.requestIds.claim(result.requestId, result.timestamp);
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        options.logger.warn('could not record a request id: database unavailable', {
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      } else {
        options.logger.error('could not record a request id', describeError(error));
      }
      throw new HttpError(
        503,
        ErrorCode.SERVICE_UNAVAILABLE,
        'The database is unavailable right now. Try again in a few seconds.',
      );
    }
    if (!first) throw refuse(request, 'replayed', result.requestId);
    setRequestUserId(result.identity?.id);
    return { identity: result.identity, clientIp: result.clientIp ?? null };
  };
}
