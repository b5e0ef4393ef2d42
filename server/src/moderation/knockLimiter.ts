import { RateLimiter } from '../signaling/RateLimiter.js';

/** Addresses not seen for this long are forgotten (their bucket would be full again anyway). */
const IDLE_MS = 5 * 60_000;

/**
 * Knocks per client address: a few at once, then `perMinute`. One address cannot flood lobbies
 * by opening many connections, which the per-connection request budget would not stop.
 */
export function knockLimiter(perMinute: number, burst: number, now: () => number = () => performance.now()): (address: string) => boolean {
  const buckets = new Map<string, { limiter: RateLimiter; usedAt: number }>();
  return (address) => {
    const time = now();
    if (buckets.size > 10_000) {
      for (const [key, bucket] of buckets) if (time - bucket.usedAt > IDLE_MS) buckets.delete(key);
    }
    let bucket = buckets.get(address);
    if (!bucket) buckets.set(address, (bucket = { limiter: new RateLimiter(perMinute / 60, burst, now), usedAt: time }));
    bucket.usedAt = time;
    return bucket.limiter.take();
  };
}
