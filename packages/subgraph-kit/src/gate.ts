import { verifyRequest, type Identity } from '@supergraph/identity';
import { ErrorCode, HttpError, type Logger, type RawRequest } from '@supergraph/service-kit';

export interface IdentityGateOptions {
  secret: string;
  /** This subgraph's name, as the router signs it (`users`, `orders`). */
  audience: string;
  maxSkewSeconds?: number;
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
 * subgraph with a forged `x-user-id` gets nothing (issue #2).
 *
 * Returns what the signature vouches for: the caller's identity and address.
 */
export function createIdentityGate(
  options: IdentityGateOptions,
): (request: RawRequest) => VerifiedRequest {
  return (request) => {
    const result = verifyRequest({
      secret: options.secret,
      audience: options.audience,
      header: (name) => request.headers.get(name),
      body: request.body,
      ...(options.maxSkewSeconds === undefined ? {} : { maxSkewSeconds: options.maxSkewSeconds }),
    });
    if (result.ok) return { identity: result.identity, clientIp: result.clientIp ?? null };
    options.logger.warn('refused a request without a valid router signature', {
      reason: result.reason,
      remoteAddress: request.remoteAddress,
    });
    throw new HttpError(
      401,
      ErrorCode.UNAUTHENTICATED,
      'This subgraph only answers requests signed by the router. Send your request to the router instead.',
    );
  };
}
