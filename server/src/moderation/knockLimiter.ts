import { isIPv6 } from 'node:net';
import { RateLimiter } from '../signaling/RateLimiter.js';

/** Addresses remembered at most; the least recently seen go first (their bucket is full again by then). */
const MAX_ADDRESSES = 50_000;

/**
 * Knocks per client address: a few at once, then `perMinute`. One address cannot flood lobbies
 * by opening many connections, which the per-connection request budget would not stop. An IPv6
 * client counts by its /64, which one subscriber usually holds whole.
 */
export function knockLimiter(perMinute: number, burst: number, now: () => number = () => performance.now()): (address: string) => boolean {
  const buckets = new Map<string, RateLimiter>();
  return (address) => {
    const key = addressKey(address);
    let limiter = buckets.get(key);
    if (limiter) buckets.delete(key);
    else limiter = new RateLimiter(perMinute / 60, burst, now);
    // Re-inserted: the map's order is least recently seen first.
    buckets.set(key, limiter);
    if (buckets.size > MAX_ADDRESSES) buckets.delete(buckets.keys().next().value ?? key);
    return limiter.take();
  };
}

/** IPv4 as it is (also when mapped into IPv6); IPv6 by its first 64 bits. */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
