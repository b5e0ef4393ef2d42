import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../server/src/signaling/RateLimiter.js';

/** The per-connection request budget, on a clock the test moves by hand. */
describe('the request budget (token bucket)', () => {
  function limiterAt(ratePerSecond: number, burst: number) {
    const clock = { ms: 10_000 };
    const limiter = new RateLimiter(ratePerSecond, burst, () => clock.ms);
    const takeAll = (tries: number): number => Array.from({ length: tries }, () => limiter.take()).filter(Boolean).length;
    return { clock, limiter, takeAll };
  }

  it('grants a burst at once, then nothing until the clock moves', () => {
    const { limiter, takeAll } = limiterAt(8, 16);
    expect(takeAll(100)).toBe(16);
    expect(limiter.take()).toBe(false);
  });

  it('credits requests the server calls for on top of the budget, and never refills past the burst', () => {
    const { clock, limiter, takeAll } = limiterAt(8, 16);
    takeAll(16);
    limiter.credit(2 * 40); // forty consumers announced
    expect(takeAll(200)).toBe(80);
    limiter.credit(30);
    clock.ms += 10_000; // credit above the burst is kept, and idling adds nothing on top of it
    expect(takeAll(200)).toBe(30);
  });

  it('refills at the sustained rate: 8/s gives one every 125 ms', () => {
    const { clock, limiter, takeAll } = limiterAt(8, 16);
    takeAll(16);
    clock.ms += 62.5;
    expect(limiter.take()).toBe(false);
    clock.ms += 62.5;
    expect(limiter.take()).toBe(true);
    expect(limiter.take()).toBe(false);
    clock.ms += 1_000;
    expect(takeAll(100)).toBe(8);
  });

  it('never saves up more than the burst, however long the pause', () => {
    const { clock, takeAll } = limiterAt(8, 16);
    takeAll(16);
    clock.ms += 60_000;
    expect(takeAll(100)).toBe(16);
  });
});
