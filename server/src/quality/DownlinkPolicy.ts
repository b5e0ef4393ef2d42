/**
 * Which simulcast layer each camera a participant receives may use, so that what it receives fits
 * its downlink with motion kept: resolution goes down before frame rate.
 *
 * Left alone, mediasoup spends a short downlink by climbing layer by layer (s0t0, s0t1, s0t2,
 * s1t0, …) and counts a higher spatial layer's first temporal layer as nearly free, so on a
 * 500 kbit/s link two cameras arrived at the middle resolution and 3–5 fps. This policy caps each
 * consumer's spatial layer to what fits at full frame rate; under the cap mediasoup still picks
 * the temporal layer, which drops frame rate only when even the lowest resolution does not fit.
 * Going down is immediate; going up needs headroom and waits a while after a step down, so a link
 * near a boundary does not flap.
 */

/** One camera consumer the participant receives. */
export interface VideoWant {
  consumerId: string;
  /** Bits per second of each spatial layer at its full frame rate (index = spatial layer). */
  layerCosts: readonly number[];
  /** The spatial layer the participant's tile asks for. */
  wished: number;
}

/** Share of the estimate that media may use: the estimate wobbles, and RTCP, RTX and audio need room. */
export const USABLE_SHARE = 0.85;
/** Going up needs the estimate to exceed what the higher layers cost by this factor. */
export const UP_HEADROOM = 1.25;
/** After a step down, a consumer stays down at least this long. */
export const HOLD_AFTER_DOWN_MS = 8000;

/**
 * The highest spatial layer per consumer that fits `budget` bits per second together: everyone
 * gets the lowest layer first, then one step up at a time in turns, so several cameras share the
 * link evenly rather than one taking it all. Ties go to the larger wish (a bigger tile).
 */
export function allocateLayers(budget: number, videos: readonly VideoWant[]): Map<string, number> {
  const layers = new Map(videos.map((video) => [video.consumerId, 0]));
  let total = videos.reduce((sum, video) => sum + (video.layerCosts[0] ?? 0), 0);
  const order = [...videos].sort((a, b) => b.wished - a.wished);
  const highest = Math.max(0, ...videos.map((video) => video.wished));
  for (let target = 1; target <= highest; target++) {
    for (const video of order) {
      if (video.wished < target || layers.get(video.consumerId) !== target - 1) continue;
      const step = (video.layerCosts[target] ?? Infinity) - (video.layerCosts[target - 1] ?? 0);
      if (total + step > budget) continue;
      total += step;
      layers.set(video.consumerId, target);
    }
  }
  return layers;
}

/** What the policy remembers of one consumer. */
interface ConsumerHistory {
  /** The highest spatial layer allowed; undefined: as high as the tile asks. */
  cap: number | undefined;
  /** When it stepped down, within the last FLAP_WINDOW_MS. */
  downs: number[];
  /** Since when going up has been possible without a break; undefined: not now. */
  upSince: number | undefined;
}

/** A consumer that stepped down more than once within this window waits longer before going up. */
export const FLAP_WINDOW_MS = 60_000;
/** The longest wait before going up again, for a link that keeps failing its step-ups. */
export const MAX_HOLD_MS = 32_000;
/** Going up must have been possible this long without a break (two measurements), not one lucky estimate. */
export const UP_STABLE_MS = 3000;

/** One participant's downlink: remembers each consumer's cap and its recent steps down. */
export class DownlinkPolicy {
  private readonly history = new Map<string, ConsumerHistory>();

  /**
   * The new cap per consumer (undefined: no cap needed) given the downlink estimate (`availableBps`)
   * less what must be carried regardless (`reservedBps`: audio, shared screens).
   */
  decide(now: number, availableBps: number, reservedBps: number, videos: readonly VideoWant[]): Map<string, number | undefined> {
    const usable = Math.max(0, availableBps * USABLE_SHARE - reservedBps);
    const fits = allocateLayers(usable, videos);
    const fitsWithHeadroom = allocateLayers(usable / UP_HEADROOM, videos);
    const decided = new Map<string, number | undefined>();
    for (const video of videos) {
      const id = video.consumerId;
      let entry = this.history.get(id);
      if (!entry) {
        entry = { cap: undefined, downs: [], upSince: undefined };
        this.history.set(id, entry);
      }
      entry.downs = entry.downs.filter((at) => now - at < FLAP_WINDOW_MS);
      const current = Math.min(video.wished, entry.cap ?? video.wished);
      const down = fits.get(id) ?? 0;
      const up = fitsWithHeadroom.get(id) ?? 0;
      if (down < current) {
        entry.cap = down;
        entry.downs.push(now);
        entry.upSince = undefined;
      } else if (entry.cap !== undefined && up > entry.cap) {
        entry.upSince ??= now;
        // Each step down within the window doubles the wait: a link that cannot hold the higher
        // layer stops being offered it every few seconds.
        const hold = Math.min(MAX_HOLD_MS, HOLD_AFTER_DOWN_MS * 2 ** Math.max(0, entry.downs.length - 1));
        const lastDown = entry.downs.at(-1) ?? -Infinity;
        if (now - lastDown >= hold && now - entry.upSince >= UP_STABLE_MS) {
          entry.cap = up >= video.wished ? undefined : up;
          entry.upSince = undefined;
        }
      } else {
        entry.upSince = undefined;
      }
      decided.set(id, entry.cap);
    }
    // Consumers gone since the last decision.
    for (const id of this.history.keys()) {
      if (!decided.has(id)) this.history.delete(id);
    }
    return decided;
  }
}
