import { describe, expect, it } from 'vitest';
import { clientAddress, trustedProxies } from '../server/src/http/clientAddress.js';
import { addressKey, knockLimiter } from '../server/src/moderation/knockLimiter.js';

const request = (remoteAddress: string, forwardedFor?: string) => ({
  socket: { remoteAddress } as never,
  headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
});

describe('who a client is, for the lobby’s knock limits', () => {
  it('believes X-Forwarded-For only through trusted proxies', () => {
    const trusted = trustedProxies(['loopback', '10.0.0.2']);
    // Straight from the client: its header is its own word, ignored.
    expect(clientAddress(request('203.0.113.7', '198.51.100.1'), trusted)).toBe('203.0.113.7');
    // Through Caddy on loopback: the nearest untrusted hop.
    expect(clientAddress(request('127.0.0.1', '198.51.100.1, 203.0.113.9'), trusted)).toBe('203.0.113.9');
    expect(clientAddress(request('::ffff:127.0.0.1', '203.0.113.9'), trusted)).toBe('203.0.113.9');
    // Through two trusted proxies.
    expect(clientAddress(request('127.0.0.1', '203.0.113.9, 10.0.0.2'), trusted)).toBe('203.0.113.9');
    // A trusted proxy that sent no header is the client as far as anyone can tell.
    expect(clientAddress(request('127.0.0.1'), trusted)).toBe('127.0.0.1');
    // Nothing trusted: never the header.
    expect(clientAddress(request('127.0.0.1', '203.0.113.9'), trustedProxies([]))).toBe('127.0.0.1');
  });

  it('counts IPv4 as itself and IPv6 by its /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });

  it('gives each address a burst, then its rate; another address has its own', () => {
    let now = 0;
    const allow = knockLimiter(60, 2, () => now);
    expect([allow('2001:db8:1:2::1'), allow('2001:db8:1:2::2'), allow('2001:db8:1:2::3')]).toEqual([true, true, false]);
    expect(allow('203.0.113.7')).toBe(true);
    now += 1000;
    expect(allow('2001:db8:1:2::4')).toBe(true);
  });
});
