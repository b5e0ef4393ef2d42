/** Most tokens credited above the burst (a room of MAX_PEERS_PER_ROOM publishers is at most a few thousand). */
const MAX_CREDIT = 10_000;

/**
 * Token bucket: `ratePerSecond` sustained with bursts up to `burst`. One per connection, so one
 * noisy client slows only itself.
 */
export class RateLimiter {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Takes one token; false when the budget is spent. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Adds tokens for requests the server itself calls for (each consumer it announces wants a
   * resume and a preference): a client joining a room of many publishers must not spend its own
   * budget on them. They may take the bucket past its burst; refilling never does.
   */
  credit(count: number): void {
    this.refill();
    this.tokens = Math.min(this.tokens + count, this.burst + MAX_CREDIT);
  }

  private refill(): void {
    const now = this.now();
    if (this.tokens < this.burst) this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond);
    this.updatedAt = now;
  }
}
