import { describe, expect, it } from 'vitest';
import { rateLink } from '../shared/quality.js';
import {
  allocateLayers,
  DownlinkPolicy,
  HOLD_AFTER_DOWN_MS,
  MAX_HOLD_MS,
  UP_HEADROOM,
  UP_STABLE_MS,
  USABLE_SHARE,
  type VideoWant,
} from '../server/src/quality/DownlinkPolicy.js';

// Simulcast camera layers as a 720p camera sends them: 180p, 360p, 720p at full frame rate.
const COSTS = [150_000, 500_000, 1_200_000];
const camera = (consumerId: string, wished = 2): VideoWant => ({ consumerId, layerCosts: COSTS, wished });

/** The estimate at which `bps` of video is just usable (the policy keeps a share in reserve). */
const estimateFor = (bps: number): number => bps / USABLE_SHARE;

describe('allocating a downlink to cameras', () => {
  it('gives everyone the lowest layer before anyone a higher one', () => {
    const layers = allocateLayers(2 * 500_000 + 100_000, [camera('a'), camera('b')]);
    expect([...layers.values()]).toEqual([1, 1]);
    expect([...allocateLayers(700_000, [camera('a'), camera('b')]).values()].sort()).toEqual([0, 1]);
    expect([...allocateLayers(300_000, [camera('a'), camera('b')]).values()]).toEqual([0, 0]);
  });

  it('never gives a tile more than it asks for, and serves bigger tiles first', () => {
    const layers = allocateLayers(10_000_000, [camera('small', 0), camera('big', 2)]);
    expect(layers.get('small')).toBe(0);
    expect(layers.get('big')).toBe(2);
    const tight = allocateLayers(150_000 + 500_000 + 10_000, [camera('small', 1), camera('big', 2)]);
    expect(tight.get('big')).toBe(1);
    expect(tight.get('small')).toBe(0);
  });

  it('a layer the sender does not send (infinite cost) is never chosen', () => {
    const layers = allocateLayers(10_000_000, [{ consumerId: 'a', layerCosts: [150_000, Infinity, Infinity], wished: 2 }]);
    expect(layers.get('a')).toBe(0);
  });
});

describe('a participant’s downlink policy', () => {
  it('steps down at once when the link shrinks, and keeps motion: two cameras on 500 kbit/s get the lowest layer', () => {
    const policy = new DownlinkPolicy();
    const decided = policy.decide(0, 500_000, 2 * 64_000, [camera('a'), camera('b')]);
    expect([...decided.values()]).toEqual([0, 0]);
  });

  it('needs no cap while everything fits', () => {
    const policy = new DownlinkPolicy();
    const decided = policy.decide(0, 10_000_000, 0, [camera('a'), camera('b')]);
    expect([...decided.values()]).toEqual([undefined, undefined]);
  });

  it('goes back up only with headroom and not within the hold after a step down', () => {
    const policy = new DownlinkPolicy();
    const wants = [camera('a')];
    expect(policy.decide(0, estimateFor(400_000), 0, wants).get('a')).toBe(0);
    // Just enough for the middle layer, but without headroom: stays down.
    expect(policy.decide(HOLD_AFTER_DOWN_MS + 1, estimateFor(510_000), 0, wants).get('a')).toBe(0);
    // Plenty, but still within the hold: stays down.
    expect(policy.decide(HOLD_AFTER_DOWN_MS - 1000, estimateFor(5_000_000), 0, wants).get('a')).toBe(0);
    // Plenty after the hold, once: not yet (one lucky estimate is not a recovered link)…
    expect(policy.decide(HOLD_AFTER_DOWN_MS + 1000, estimateFor(5_000_000), 0, wants).get('a')).toBe(0);
    // …and still so a few seconds later: no cap any more.
    expect(policy.decide(HOLD_AFTER_DOWN_MS + 1000 + UP_STABLE_MS, estimateFor(5_000_000), 0, wants).get('a')).toBeUndefined();
  });

  it('a link wobbling around a layer boundary does not flap', () => {
    const policy = new DownlinkPolicy();
    const wants = [camera('a')];
    let changes = 0;
    let previous: number | undefined = policy.decide(0, estimateFor(450_000), 0, wants).get('a');
    // A minute of estimates swinging ±10 % around what the middle layer costs, every 2 s.
    for (let t = 2000; t <= 60_000; t += 2000) {
      const estimate = estimateFor(500_000 * (t % 4000 === 0 ? 1.1 : 0.9));
      const cap = policy.decide(t, estimate, 0, wants).get('a');
      if (cap !== previous) changes++;
      previous = cap;
    }
    expect(changes).toBeLessThanOrEqual(1);
    expect(1.1).toBeLessThan(UP_HEADROOM);
  });

  it('a link that keeps failing its step-ups is offered them less and less often', () => {
    const policy = new DownlinkPolicy();
    const wants = [camera('a')];
    const upAt: number[] = [];
    let cap = policy.decide(0, estimateFor(300_000), 0, wants).get('a');
    // The estimate is plenty whenever the camera is capped, and short whenever it is not (a link
    // that only looks fast while little is sent): every step up is followed by a step down.
    for (let t = 2000; t <= 120_000; t += 2000) {
      const next = policy.decide(t, estimateFor(cap === undefined ? 300_000 : 5_000_000), 0, wants).get('a');
      if (cap !== undefined && next === undefined) upAt.push(t);
      cap = next;
    }
    const gaps = upAt.slice(1).map((at, i) => at - upAt[i]!);
    expect(gaps.length).toBeGreaterThan(1);
    expect(gaps[1]).toBeGreaterThan(gaps[0]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(MAX_HOLD_MS + UP_STABLE_MS + 4000);
    // Fewer than one step up every 16 s over two minutes.
    expect(upAt.length).toBeLessThan(8);
  });

  it('forgets consumers that are gone', () => {
    const policy = new DownlinkPolicy();
    policy.decide(0, 300_000, 0, [camera('a')]);
    expect(policy.decide(1000, 300_000, 0, [camera('b')]).has('a')).toBe(false);
  });
});

describe('rating a link', () => {
  const clean = { uplink: { lossPercent: 0 }, downlink: { lossPercent: 0, limited: false, availableKbps: 5000 }, rttMs: 20 };
  it('good, fair and poor from loss, round trip and limits', () => {
    expect(rateLink(clean)).toBe('good');
    expect(rateLink({ ...clean, downlink: { ...clean.downlink, limited: true } })).toBe('fair');
    expect(rateLink({ ...clean, uplink: { lossPercent: 3 } })).toBe('fair');
    expect(rateLink({ ...clean, downlink: { ...clean.downlink, lossPercent: 12 } })).toBe('poor');
    expect(rateLink({ ...clean, rttMs: 800 })).toBe('poor');
    expect(rateLink({ uplink: { lossPercent: null }, downlink: { lossPercent: null, limited: false, availableKbps: null }, rttMs: null })).toBe('good');
  });
});
