import type { IncomingMessage } from 'node:http';

const LOOPBACK = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];

/** TRUST_PROXY's addresses, with `loopback` standing for this machine's own. */
export function trustedProxies(configured: readonly string[]): Set<string> {
  return new Set(configured.flatMap((entry) => (entry === 'loopback' ? LOOPBACK : [entry])));
}

/**
 * Who sent this request: the socket's peer, unless that is a trusted proxy, in which case the
 * nearest address in X-Forwarded-For that is not itself a trusted proxy. A client can put anything
 * in that header, so only hops through trusted proxies are believed.
 */
export function clientAddress(request: Pick<IncomingMessage, 'headers' | 'socket'>, trusted: ReadonlySet<string>): string {
  // A server listening on :: sees IPv4 clients as ::ffff:a.b.c.d.
  let address = (request.socket.remoteAddress ?? 'unknown').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (!trusted.has(address)) return address;
  const header = request.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop.length > 0);
  while (trusted.has(address) && hops.length > 0) address = hops.pop() ?? address;
  return address;
}
