import { isIP } from 'node:net';
import type { RawRequest } from '@supergraph/service-kit';

/**
 * The caller's IP address, which the users subgraph throttles logins by.
 *
 * With `trustedProxyHops` 0 (the default) it is the socket's peer: anything in
 * `X-Forwarded-For` was written by the client and is ignored, or an attacker could claim a fresh
 * address on every request. Behind N reverse proxies that each append the address they saw,
 * the client is the N-th entry from the right: the entries further left were sent by the client
 * itself and prove nothing. With fewer entries than hops, the leftmost one is taken (the request
 * came through fewer proxies than configured). An entry that is not an IP address falls back to
 * the socket's peer.
 */
export function clientIpOf(
  request: Pick<RawRequest, 'headers' | 'remoteAddress'>,
  trustedProxyHops: number,
): string | null {
  const peer = normalizeIp(request.remoteAddress);
  if (trustedProxyHops <= 0) return peer;
  const forwarded = (request.headers.get('x-forwarded-for') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (forwarded.length === 0) return peer;
  const entry = forwarded[Math.max(0, forwarded.length - trustedProxyHops)];
  return normalizeIp(entry) ?? peer;
}

/**
 * One spelling per address: IPv4-mapped IPv6 (`::ffff:203.0.113.7`, what a dual-stack socket
 * reports) becomes IPv4, and a proxy's `[v6]:port` or `v4:port` loses its brackets and port.
 * Anything that is still not an address is null.
 */
export function normalizeIp(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  let address = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed?.[1]) address = bracketed[1];
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(address);
  if (v4WithPort?.[1]) address = v4WithPort[1];
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1]) address = mapped[1];
  const version = isIP(address);
  if (version === 4) return address;
  if (version === 6) return address.toLowerCase();
  return null;
}
