/**
 * Which simulcast layer each camera a participant receives may use, so that what it receives fits
 * its downlink with motion kept: resolution goes down before frame rate.
 *
 * Left alone, mediasoup spends a short downlink by climbing layer by layer (s0t0, s0t1, s0t2,
 * s1t0, …) and counts a higher spatial layer's first temporal layer as nearly free, so on a
 * 500 kbit/s link two cameras arrived at the middle resolution and 3–5 fps. This policy caps each
 * consumer's spatial layer to what fits at full frame rate; under the cap mediasoup still picks
 * the temporal layer, which drops frame rate only when even the lowest resolution does not fit.
 * Going down is immediate; going up needs headroom, waits a while after a step down, and moves one
 * camera at a time, so a link near a boundary does not flap.
 *
 * While any camera is held down on a link that shows a queue, the policy also gives the transport a ceiling (`ceilingBps`, for
 * `transport.setMaxOutgoingBitrate`). mediasoup asks its estimator for what the top layers of every
 * camera cost, whatever the consumers' preferred layers, and probes the link (padding, sent only
 * in probes) up towards it: on a link with a deep drop-tail queue (a 500 kbit/s tbf of 200 ms)
 * those probes fill the queue, the estimate collapses, and the lowest layer arrived at 6–9 fps.
 * Under a ceiling just above what the held layers need, the probes stay small. To find out whether the
 * link has recovered, every few seconds the ceiling is lifted to what every tile's wish needs for
 * as long as the estimate keeps climbing; when it stalls, that was the link's limit: back to the
 * hold, and the next probe waits a little longer.
 *
 * A camera held down on a link whose estimate has stopped moving is tried: for one round the
 * policy gives the estimate a floor (`trialFloorBps`, for `transport.setMinOutgoingBitrate`) at
 * what every tile asks for, and the step up that follows tests the link with real media
 * (TRIAL_AFTER_MS says why an estimate can get stuck).
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
/**
 * Going up needs the estimate to exceed what the higher layers cost by this factor: on a link at
 * its limit the estimate swings by a third either way (244–628 kbit/s measured on a 500 kbit/s
 * link), and with 1.25 every swing up offered a layer the next swing down took away.
 */
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
  /** When it last stepped down. */
  downAt: number | undefined;
  /** Since when going up has been possible without a break; undefined: not now. */
  upSince: number | undefined;
  /** When it last went up, until it next goes down (a step down within FAILED_UP_MS of it is a failure). */
  upAt: number | undefined;
  /** When it last went up, kept after a step down: who goes first when several may. */
  lastUpAt: number | undefined;
  /** The estimate when it last went up: what the link was thought to carry. */
  upEstimate: number | undefined;
  /** Whether that step up was taken on a trial's estimate (TRIAL_SPAN_MS). */
  upOnTrial: boolean;
}

/**
 * A step down this soon after a step up means the link could not carry the higher layer, however
 * high the estimate looked: on a link at its limit mediasoup's probes pass a shaper's burst
 * allowance at line rate (1.35 Mbit/s reported on a 500 kbit/s link), and as its pacer pads only
 * while probing, nothing contradicts that until the higher layer's own media fill the queue.
 */
export const FAILED_UP_MS = 12_000;
/** Failed steps up count for this long. */
export const FAILURE_MEMORY_MS = 120_000;
/** Going up must have been possible this long without a break (two measurements in a row), not one lucky estimate. */
export const UP_STABLE_MS = 2000;
/**
 * While a failed step up on this link still applies (see CHANGED_LINK), the next camera steps up
 * this long after the one before: two measurements that the link carries the first. Else the next
 * follows a round later (UP_STABLE_MS): an estimate that has not lied on this link is taken at its word.
 */
export const UP_SPACING_MS = 4000;
/**
 * The link monitor decides once a round (2 s), and a round's timestamp wobbles by the time its
 * stats take: a wait counts as over this much early, so an 8 s wait takes four rounds, not five
 * (a lifted cap measured 20.7 s until full quality with waits one round late).
 */
export const ROUND_SLACK_MS = 500;
/**
 * After a failed step up (of any camera: the link failed), going up must have been possible this
 * long without a break; after two or more, MAX_UP_STABLE_MS. Behind a shaper that lets bursts
 * through at a faster line's rate mediasoup's probes pass at full speed and its estimate jumps,
 * up to its maximum, so a failure says a high estimate cannot be trusted on this link. On such a
 * capped lab link (a 4 KiB bucket) an overshoot
 * mostly lasted 2–6 s before a probe or the media brought the estimate back; on a link that
 * really grew (the cap lifted) it stays high, so the wait costs that link no more than this. With
 * 10 s one dip of a busy machine's estimate after the cap was lifted kept the video down 36 s. A
 * back-off in time alone could not tell the two apart: after a few failures it had grown to
 * 32–64 s, and a lifted cap waited that long.
 */
export const FAILED_UP_STABLE_MS = 6000;
export const MAX_UP_STABLE_MS = 8000;
/**
 * After a failed step up, the next needs an estimate this much above the one that step was taken
 * at (or the estimator's maximum). On a slow 500 kbit/s lab link the estimate wanders 260–590
 * kbit/s: a camera stepped up at 576 failed, and again at 584, and each failure is two switches
 * and a longer wait once the link does grow.
 */
export const RETRY_ABOVE_FAILED = 1.25;
/**
 * A failed step up taken below the estimator's maximum stops counting towards the waits above
 * once the estimate is this many times the one it failed at: that is a different link (a cap
 * lifted: 1 350 kbit/s after failures at 490–590 on a 500 kbit/s lab link, where the waits kept
 * the video down 22 s). One taken at half the estimator's maximum or more always counts.
 * Behind a bursty shaper partial overshoots (770–900 kbit/s on a 500 kbit/s link) fail too, and
 * the estimate after them reaches at most 1.5 times that.
 */
export const CHANGED_LINK = 2;

/**
 * A probe goes on while the estimate climbs at least this much a round. mediasoup drops libwebrtc's
 * mid-call probe when the maximum changes, so the estimate only climbs by its own ramp (8 % a
 * second at most) and the padding that goes with it: a link that recovered shows a steady climb,
 * one at its limit stalls or falls.
 */
export const PROBE_GROWTH = 1.06;
/** An estimate below this share of what the held layers need is a dip the estimator is recovering from: no probe then. */
export const FOLLOW_SHARE = 0.85;
/** A probe asks at most this much more than the policy needs to step every camera up to its wish. */
export const PROBE_MARGIN = 1.1;
/** After a probe the link did not follow, the next waits this long, doubling with each failure up to MAX_PROBE_INTERVAL_MS. */
export const PROBE_INTERVAL_MS = 4000;
export const MAX_PROBE_INTERVAL_MS = 6000;
/**
 * The hold sits this far above what the held layers need. The padding up to the estimate is what
 * keeps the estimate up: without room for it (a hold at exactly what the layers need, tried) every
 * false alarm of the delay detector on a busy machine cut the estimate to 0.85 × what was sent and
 * it never climbed back (every participant, clean links too, ended at 50–250 kbit/s).
 */
export const HOLD_MARGIN = 1.25;
/** The ceiling applies for this long after the link last showed a queue (a long round trip or loss). */
export const QUEUE_MEMORY_MS = 60_000;
/** An estimate this close to the ceiling is the ceiling, not the link: no reason to step down. */
export const PINNED_SHARE = 0.95;
/**
 * An estimate this close to the estimator's maximum as computed from the consumers is that
 * maximum: mediasoup keeps its previous maximum while the new one is within 10 % of it, and the
 * producers' rates it follows move between rounds (1 190–1 350 kbit/s seen for one maximum).
 */
export const ESTIMATOR_MAX_SHARE = 0.85;
/**
 * A camera held down this long after the link's last step down, the estimate still short of a
 * step up and the link showing no queue, the policy tries the link: for one round it raises the
 * estimate's floor (`trialFloorBps`, the transport's minimum outgoing bitrate) to what every
 * tile's wish needs, so the cameras step up and their own media test the link. A clean link can
 * otherwise stay low for good: libwebrtc lets its estimate rise no further than 1.5 times what is
 * sent, what is sent is what the held layers need, and its probes, 15 ms bursts, read a busy
 * machine's jitter as a slow link. A clean lab link whose estimate fell under load from 659 to
 * 292 kbit/s climbed 1–3 kbit/s a round and kept its cameras down for 40 s; lowering the
 * estimator's maximum to make it probe (libwebrtc probes when it changes) lifted such a link in
 * some tries and not in others, the floor in every one.
 * A link that cannot carry the step fails it as any step up (FAILED_UP_MS), and the next trial
 * waits longer.
 */
export const TRIAL_AFTER_MS = 4000;
/**
 * …and only once the estimate has stayed this long within TRIAL_STEADY_SPREAD of itself: a stuck
 * estimate is flat (292–324 kbit/s over 20 s on that clean link), one that follows a short link
 * keeps moving (200–650 kbit/s from round to round on a 500 kbit/s lab link, where every trial
 * failed, cost two layer switches and slowed the return once the cap was lifted).
 */
export const TRIAL_STEADY_MS = 8000;
export const TRIAL_STEADY_SPREAD = 1.15;
/**
 * After a trial the next waits this long, doubling with each up to the maximum, until every tile
 * has what it asks for: a link that stays short is tried ever more rarely. On a short link
 * libwebrtc's own probes bring a floor-lifted estimate back down within seconds (the sender then
 * uses little of it), and a step up taken on it fails; on a stuck one the estimate stays.
 */
export const TRIAL_INTERVAL_MS = 8000;
export const MAX_TRIAL_INTERVAL_MS = 64_000;
/**
 * A step up this soon after a trial was taken on the trial's floor (the estimate lifted by it may
 * take the longest wait for a steady estimate, MAX_UP_STABLE_MS, and a round). If it fails, the
 * link is short: the next trial waits MAX_TRIAL_INTERVAL_MS, and the failure does not make the
 * policy doubt the estimator (the waits after a failure, FAILED_UP_STABLE_MS), which would slow
 * the return once the link does grow (a lifted cap took 19.9 s).
 */
export const TRIAL_SPAN_MS = MAX_UP_STABLE_MS + 2000;
/** mediasoup refuses a lower maximum outgoing bitrate. */
const MIN_CEILING_BPS = 100_000;

/** The cost of each consumer's camera at the given layers; a layer not sent counts as the highest sent below it. */
function costOf(videos: readonly VideoWant[], layerOf: (video: VideoWant) => number): number {
  return videos.reduce((sum, video) => {
    let layer = Math.min(layerOf(video), video.layerCosts.length - 1);
    while (layer > 0 && !Number.isFinite(video.layerCosts[layer] ?? Infinity)) layer--;
    const cost = video.layerCosts[layer] ?? 0;
    return sum + (Number.isFinite(cost) ? cost : 0);
  }, 0);
}

/** One participant's downlink: remembers each consumer's cap and its recent steps down. */
export class DownlinkPolicy {
  private readonly history = new Map<string, ConsumerHistory>();
  /**
   * Steps up that failed (a step down within FAILED_UP_MS of it) within the last
   * FAILURE_MEMORY_MS: when, and at what estimate the step was taken.
   */
  private failedUps: { at: number; estimate: number; onTrial: boolean }[] = [];
  private ceiling: number | undefined;
  /** What the held layers need: the ceiling when not probing. */
  private hold = 0;
  /** When the ceiling may next rise above the hold, and how many probes in a row the link did not follow. */
  private nextProbeAt = 0;
  private failures = 0;
  /** While probing: the estimate the probe has reached so far. */
  private probeBase: number | undefined;
  /** When the link last showed a queue. */
  private queuedAt = -Infinity;
  /** Whether the transport ceiling (an experiment, docs/quality.md point 5) is on. */
  private readonly ceilingOn: boolean;
  /** Whether the policy tries a held link (`trialFloorBps`). */
  private readonly trialsOn: boolean;
  /** The estimate's floor for this round's trial (bits per second), if any. */
  private trialFloor: number | undefined;
  /** When the next trial may be, and how long the one after it waits (doubling, TRIAL_INTERVAL_MS). */
  private nextTrialAt = 0;
  private trialWait = TRIAL_INTERVAL_MS;
  /** When the last trial was. */
  private lastTrialAt = -Infinity;
  /** The estimates of the last TRIAL_STEADY_MS and a round. */
  private recentEstimates: { at: number; bps: number }[] = [];

  constructor(options: { ceiling?: boolean; trials?: boolean } = {}) {
    this.ceilingOn = options.ceiling ?? false;
    this.trialsOn = options.trials ?? true;
  }

  /**
   * The maximum outgoing bitrate the participant's transport should have after the last decision
   * (undefined: none, mediasoup probes as it likes).
   */
  get ceilingBps(): number | undefined {
    return this.ceiling;
  }

  /**
   * The lowest estimate the transport should report this round (undefined: none), for the link
   * monitor to set as its minimum outgoing bitrate: a trial of the link (TRIAL_AFTER_MS).
   */
  get trialFloorBps(): number | undefined {
    return this.trialFloor;
  }

  /** Whether the ceiling is lifted above what the held layers need, to probe the link. */
  get probing(): boolean {
    return this.probeBase !== undefined;
  }

  /**
   * The new cap per consumer (undefined: no cap needed) given the downlink estimate (`availableBps`)
   * less what must be carried regardless (`reservedBps`: audio, shared screens). `queued`: the
   * link shows a queue (a long round trip or loss), what arms the ceiling and holds back trials. `estimatorMaxBps`: the
   * most the estimator can report (mediasoup's is 1.35 times what the consumers desire).
   */
  decide(
    now: number,
    availableBps: number,
    reservedBps: number,
    videos: readonly VideoWant[],
    queued = false,
    estimatorMaxBps = Infinity,
  ): Map<string, number | undefined> {
    if (queued) this.queuedAt = now;
    const usable = Math.max(0, availableBps * USABLE_SHARE - reservedBps);
    // An estimate held at our own ceiling says the link carries at least that, not that it is short.
    const pinned = this.ceiling !== undefined && availableBps >= this.ceiling * PINNED_SHARE;
    const fits = allocateLayers(usable, videos);
    // An estimate at the estimator's maximum says the link carries at least that, and it can say
    // no more: asking it for headroom above that would keep cameras whose top layers cost near
    // their maxBitrate below their wish for good (two at 500 kbit/s: 1.35 Mbit/s at most, where
    // the headroom asked for 1.6).
    const maxReading = estimatorMaxBps * ESTIMATOR_MAX_SHARE;
    const atEstimatorMax = availableBps >= maxReading;
    const fitsWithHeadroom = allocateLayers(atEstimatorMax ? usable : usable / UP_HEADROOM, videos);
    const decided = new Map<string, number | undefined>();
    this.failedUps = this.failedUps.filter((failure) => now - failure.at < FAILURE_MEMORY_MS);
    // A step up that failed at some estimate is not tried again at that estimate (the link showed
    // it was not enough), and until the estimate is far above it (a different link) it is a doubt:
    // the estimate may be lying, and the waits below grow with each doubt. One taken near the
    // estimator's maximum stays a doubt, as the estimate cannot rise far above it.
    // A step up taken on a trial's floor that failed says the link is short, not that its estimator lies.
    const doubts = this.failedUps.filter((failure) => !failure.onTrial && availableBps < CHANGED_LINK * failure.estimate).length;
    const retryBps = Math.min(RETRY_ABOVE_FAILED * Math.max(0, ...this.failedUps.map((failure) => failure.estimate)), maxReading);
    const waited = (since: number | undefined, wait: number): boolean => since === undefined || now - since + ROUND_SLACK_MS >= wait;
    /** The estimate a step up that fails this round was taken at (cameras failing together count once: the link failed once). */
    let failedAtEstimate: number | undefined;
    let failedOnTrial = false;
    /** Consumers that may step up this round, and to which layer. */
    const ready: { video: VideoWant; entry: ConsumerHistory; up: number }[] = [];
    for (const video of videos) {
      const id = video.consumerId;
      let entry = this.history.get(id);
      if (!entry) {
        entry = { cap: undefined, downAt: undefined, upSince: undefined, upAt: undefined, lastUpAt: undefined, upEstimate: undefined, upOnTrial: false };
        this.history.set(id, entry);
      }
      const current = Math.min(video.wished, entry.cap ?? video.wished);
      const down = fits.get(id) ?? 0;
      const up = fitsWithHeadroom.get(id) ?? 0;
      if (down < current && !pinned) {
        entry.cap = down;
        entry.downAt = now;
        entry.upSince = undefined;
        if (entry.upAt !== undefined && now - entry.upAt < FAILED_UP_MS) {
          failedAtEstimate = Math.max(failedAtEstimate ?? 0, entry.upEstimate ?? 0);
          failedOnTrial ||= entry.upOnTrial;
        }
        entry.upAt = undefined;
      } else if (entry.cap !== undefined && up > entry.cap && availableBps >= retryBps) {
        entry.upSince ??= now;
        // Each doubt (a failure of any camera: the link failed, not the camera) asks the estimate
        // to stay high longer first: an overshoot on a link at its limit falls back within
        // seconds, a link that grew stays.
        const stable = doubts === 0 ? UP_STABLE_MS : doubts === 1 ? FAILED_UP_STABLE_MS : MAX_UP_STABLE_MS;
        if (waited(entry.downAt, HOLD_AFTER_DOWN_MS) && waited(entry.upSince, stable)) ready.push({ video, entry, up });
      } else {
        entry.upSince = undefined;
      }
    }
    if (failedAtEstimate !== undefined) {
      this.failedUps.push({ at: now, estimate: failedAtEstimate, onTrial: failedOnTrial });
      // A trial the link could not carry: a short link, tried again only after the longest wait.
      if (failedOnTrial) {
        this.trialWait = MAX_TRIAL_INTERVAL_MS;
        this.nextTrialAt = now + MAX_TRIAL_INTERVAL_MS;
      }
    }
    // One camera steps up at a time, and the next only once that one has held (UP_SPACING_MS
    // while there are doubts, else a round): each step tests the link with the smallest increase,
    // and a step the link cannot carry takes back one picture, not all of them. Bigger tiles
    // first, then the one that went up least recently.
    const lastUp = Math.max(-Infinity, ...[...this.history.values()].map((entry) => entry.upAt ?? -Infinity));
    if (ready.length > 0 && waited(lastUp, doubts === 0 ? UP_STABLE_MS : UP_SPACING_MS)) {
      ready.sort((a, b) => b.video.wished - a.video.wished || (a.entry.lastUpAt ?? -Infinity) - (b.entry.lastUpAt ?? -Infinity));
      const { video, entry, up } = ready[0]!;
      entry.cap = up >= video.wished ? undefined : up;
      entry.upSince = undefined;
      entry.upAt = now;
      entry.lastUpAt = now;
      entry.upEstimate = availableBps;
      entry.upOnTrial = now - this.lastTrialAt <= TRIAL_SPAN_MS;
    }
    for (const video of videos) decided.set(video.consumerId, this.history.get(video.consumerId)!.cap);
    // Consumers gone since the last decision.
    for (const id of this.history.keys()) {
      if (!decided.has(id)) this.history.delete(id);
    }
    this.setCeiling(now, availableBps, reservedBps, videos, decided);
    this.setTrial(now, availableBps, reservedBps, videos, decided, queued, retryBps, maxReading);
    return decided;
  }

  /**
   * Whether to try the link this round, and with what floor: what every tile's wish needs with
   * the headroom a step up asks for, and above what a failed step up asks for a retry, below the
   * estimator's maximum. Only while a camera is held down and none may step up or is waiting to,
   * TRIAL_AFTER_MS after the last step down and FAILED_UP_MS after the last step up, on a link
   * that shows no queue (one that does is short, not stuck), and with the ceiling experiment off.
   */
  private setTrial(
    now: number,
    availableBps: number,
    reservedBps: number,
    videos: readonly VideoWant[],
    caps: ReadonlyMap<string, number | undefined>,
    queued: boolean,
    retryBps: number,
    maxReading: number,
  ): void {
    this.trialFloor = undefined;
    this.recentEstimates = [...this.recentEstimates.filter((reading) => now - reading.at <= TRIAL_STEADY_MS + 2000), { at: now, bps: availableBps }];
    if (!this.trialsOn) return;
    const entries = videos.map((video) => this.history.get(video.consumerId)!);
    const held = videos.filter((video) => (caps.get(video.consumerId) ?? video.wished) < video.wished);
    if (held.length === 0) {
      // Every tile has what it asks for: the link carries it, trials start afresh.
      this.trialWait = TRIAL_INTERVAL_MS;
      this.nextTrialAt = 0;
      return;
    }
    if (queued || this.ceiling !== undefined || entries.some((entry) => entry.upSince !== undefined)) return;
    const lastDown = Math.max(-Infinity, ...entries.map((entry) => entry.downAt ?? -Infinity));
    const lastUp = Math.max(-Infinity, ...entries.map((entry) => entry.upAt ?? -Infinity));
    const waited = (since: number, wait: number): boolean => now - since + ROUND_SLACK_MS >= wait;
    // Not while a step up is still on trial itself: a floor would hide its failure.
    if (!waited(lastDown, TRIAL_AFTER_MS) || !waited(lastUp, FAILED_UP_MS) || now + ROUND_SLACK_MS < this.nextTrialAt) return;
    const readings = this.recentEstimates.map((reading) => reading.bps);
    const steady = waited(this.recentEstimates[0]!.at, TRIAL_STEADY_MS) && Math.max(...readings) <= TRIAL_STEADY_SPREAD * Math.min(...readings);
    if (!steady) return;
    const wish = ((costOf(videos, (video) => video.wished) * UP_HEADROOM + reservedBps) / USABLE_SHARE) * PROBE_MARGIN;
    const floor = Math.min(Math.max(wish, retryBps * PROBE_MARGIN), maxReading);
    if (floor <= availableBps || floor < MIN_CEILING_BPS) return;
    this.trialFloor = floor;
    this.lastTrialAt = now;
    this.nextTrialAt = now + this.trialWait;
    this.trialWait = Math.min(MAX_TRIAL_INTERVAL_MS, 2 * this.trialWait);
  }

  /**
   * The ceiling after a decision: none while every camera gets what its tile asks for, or while the
   * link has shown no queue for QUEUE_MEMORY_MS. Else the
   * hold, just above what the held layers need; every few seconds it is lifted to what every wish
   * needs, for as long as the estimate keeps climbing towards it (a recovered link: the policy
   * steps up on the way); when the climb stalls, that was the link's limit: back to the hold, and
   * the next probe waits longer (up to MAX_PROBE_INTERVAL_MS).
   */
  private setCeiling(
    now: number,
    availableBps: number,
    reservedBps: number,
    videos: readonly VideoWant[],
    caps: ReadonlyMap<string, number | undefined>,
  ): void {
    const allowed = (video: VideoWant): number => Math.min(video.wished, caps.get(video.consumerId) ?? video.wished);
    // A link without a queue in the last minute is short only while the estimator ramps up (a
    // newcomer, a busy machine's jitter): a ceiling would only slow that down.
    if (!this.ceilingOn || now - this.queuedAt >= QUEUE_MEMORY_MS || !videos.some((video) => allowed(video) < video.wished)) {
      this.ceiling = undefined;
      this.probeBase = undefined;
      this.nextProbeAt = 0;
      this.failures = 0;
      return;
    }
    this.hold = Math.max(MIN_CEILING_BPS, ((costOf(videos, allowed) + reservedBps) / USABLE_SHARE) * HOLD_MARGIN);
    const wish = Math.max(this.hold, ((costOf(videos, (video) => video.wished) * UP_HEADROOM + reservedBps) / USABLE_SHARE) * PROBE_MARGIN);
    if (this.probeBase !== undefined) {
      if (availableBps >= this.probeBase * PROBE_GROWTH) {
        this.probeBase = availableBps;
        this.ceiling = wish;
        return;
      }
      this.probeBase = undefined;
      this.failures++;
      this.nextProbeAt = now + Math.min(MAX_PROBE_INTERVAL_MS, PROBE_INTERVAL_MS * 2 ** (this.failures - 1));
    }
    if (now >= this.nextProbeAt && availableBps >= (this.hold / HOLD_MARGIN) * FOLLOW_SHARE) {
      this.probeBase = availableBps;
      this.ceiling = wish;
    } else {
      this.ceiling = this.hold;
    }
  }
}
