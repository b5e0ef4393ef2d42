import { describe, expect, it } from 'vitest';
import { mergeResults } from '../../scripts/loadtest/merge.js';
import { renderReport } from '../../scripts/loadtest/report/html.js';
import { alongX, lineChart, ticks } from '../../scripts/loadtest/report/svg.js';
import { cpuByRoomSize, qualityByRoomSize, qualityLimit, roomSizes, syntheticFirstFrames } from '../../scripts/loadtest/roomSize.js';
import { mean, summarizeRun } from '../../scripts/loadtest/stats.js';
import { formatSummary } from '../../scripts/loadtest/summary.js';
import type { RunResult } from '../../scripts/loadtest/types.js';
import { bot, result, samplesFor, syntheticParticipant, syntheticSamples, T0 } from './fixtures.js';

const END = T0 + 30_000;
const noThresholds = { maxJoinMs: null, minFps: null, maxLossPct: null };

/** A synthetic participant that joined at `joinedAt` and was sampled every second until the end. */
const joining = (name: string, at: number, sender: boolean, rates: Parameters<typeof syntheticSamples>[2] = {}) =>
  syntheticParticipant(name, { sender, startedAt: at - 500, joinMs: 500, samples: syntheticSamples(at, (END - at) / 1000, rates) });

/**
 * Two bots (joined at 1 s and 2 s) watch each other; then synthetic participants join: two senders
 * (at 6 s and 9 s, whose cameras the bots show), two receivers (at 12 s and 14 s), and one that
 * failed. Each bot's fps, at every camera, is `fps(t)`.
 */
function growingRoom(fps: (t: number) => number, frozen: { peerId: string; from: number; to: number }[] = []): RunResult {
  const cameras = (self: string) => [
    { consumerId: `${self}-c-bot`, peerId: self === 'bot-1' ? 'bot-2' : 'bot-1', fps },
    { consumerId: `${self}-c-syn-1`, peerId: 'bot-syn-1', fps, since: T0 + 6000 },
    { consumerId: `${self}-c-syn-2`, peerId: 'bot-syn-2', fps, since: T0 + 9000 },
  ];
  return result(
    [
      bot('bot-1', { samples: samplesFor(cameras('bot-1'), T0 + 2000, 28, frozen), firstFrames: { 'bot-syn-1': 6400, 'bot-syn-2': 9200 } }),
      bot('bot-2', {
        startedAt: T0 + 1000,
        samples: samplesFor(cameras('bot-2'), T0 + 2000, 28),
        firstFrames: { 'bot-syn-1': 5300, 'bot-syn-2': 8500 },
      }),
    ],
    {
      endedAt: END,
      allJoinedAt: T0 + 14_000,
      settledAt: T0 + 16_000,
      settings: {
        ...result([]).settings,
        participantsPerRoom: 2,
        sendersPerRoom: 2,
        synthetic: { perRoom: 5, sendersPerRoom: 2, maxVideos: 4, joinRate: 1, threads: 1 },
      },
      synthetic: [
        joining('bot-syn-1', T0 + 6000, true, { lossPct: 1 }),
        joining('bot-syn-2', T0 + 9000, true, { layerSwitchesPerSecond: 0.5 }),
        joining('bot-syn-3r', T0 + 12_000, false, { lossPct: 3, kbps: 300, jitterMs: 12 }),
        joining('bot-syn-4r', T0 + 14_000, false),
        syntheticParticipant('bot-syn-5r', { startedAt: T0 + 14_500, joinMs: null, error: 'ICE <failed>' }),
      ],
    },
  );
}

const steady = growingRoom(() => 30);
const names = [...steady.bots.map((entry) => entry.name), ...(steady.synthetic ?? []).map((record) => record.name)];

describe('load-test report with synthetic participants', () => {
  it('summarises them over the bots’ steady window: joined, failed, sending, loss, received bitrate, jitter, layer switches', () => {
    const synthetic = summarizeRun(steady).synthetic!;
    expect(synthetic).toMatchObject({ total: 5, joined: 4, failed: 1, sending: 2, jitterMsMax: 12, layerSwitches: 7 });
    expect(synthetic.loss).toMatchObject({ n: 4, p50: 0.5, max: 3 });
    expect(synthetic.receivedKbps).toMatchObject({ n: 4, p50: 400, min: 300 });
    expect(synthetic.perParticipant.map((participant) => participant.name)).toEqual(names.slice(2));
    expect(synthetic.perParticipant[0]).toMatchObject({ videoFps: 15, videoFlowing: 2, audioFlowing: 2 });
  });

  it('counts the room as it grows, bots and synthetic participants alike, and reads server CPU against it', () => {
    const sizeAt = roomSizes(steady);
    expect(sizeAt(T0 + 500).participants).toBe(0);
    expect(sizeAt(T0 + 2000)).toEqual({ participants: 2, largestRoom: 2, byRoom: { r: 2 } });
    expect(sizeAt(T0 + 9000).participants).toBe(4);
    expect(sizeAt(END).participants).toBe(6); // the failed one never joined
    const cpu = cpuByRoomSize(steady);
    const atTen = cpu.find((point) => point.t === 10)!;
    expect(atTen).toMatchObject({ participants: 4, largestRoom: 4 });
    expect(atTen.workers['0']).toBeCloseTo(20);
    expect(atTen.workers['1']).toBeCloseTo(10);
    expect(atTen.processCpu).toBeCloseTo(5);
    expect(cpu.map((point) => point.participants)).toEqual([...cpu.map((point) => point.participants)].sort((a, b) => a - b));
  });

  it('finds the largest room size at which every bot kept 15 fps, and where that first failed', () => {
    const degrading = growingRoom((t) => (t >= T0 + 12_000 ? 10 : 30));
    const points = qualityByRoomSize(degrading);
    // Newcomers' cameras count from 5 s after they joined, so the bots' fps holds at 30 until the drop.
    expect(points.filter((point) => point.t >= 8 && point.t < 12).every((point) => point.fpsMin === 30 && point.bots === 2)).toBe(true);
    expect(points.find((point) => point.t === 12)).toMatchObject({ largestRoom: 5, fpsMin: 10, fpsMean: 10, frozen: false });
    expect(qualityLimit(points, 15)).toEqual({ minFps: 15, heldUpTo: 4, failed: { largestRoom: 5, t: 12, fpsMin: 10, frozen: false }, largestRoom: 6 });
    expect(formatSummary(degrading, summarizeRun(degrading), [])).toMatch(
      /every bot ≥ 15 fps, no freeze \(room size\)\s+held up to 4 per room; first failed at 5 \(worst bot 10\.0 fps at 12 s\)/,
    );
    // A stricter --min-fps moves the limit.
    expect(formatSummary(steady, summarizeRun(steady), [], { ...noThresholds, minFps: 31 })).toMatch(
      /every bot ≥ 31 fps, no freeze \(room size\)\s+failed from the first measured second, at 3 \(worst bot 30\.0 fps at 8 s\)/,
    );
  });

  it('says "never, up to N" when the bots’ quality held at every size', () => {
    expect(qualityLimit(qualityByRoomSize(steady))).toEqual({ minFps: 15, heldUpTo: 6, failed: null, largestRoom: 6 });
    expect(formatSummary(steady, summarizeRun(steady), [])).toMatch(/every bot ≥ 15 fps, no freeze \(room size\)\s+never failed, up to 6 per room/);
  });

  it('a one-second dip below the threshold is sampling noise, not the limit', () => {
    const dip = growingRoom((t) => (t >= T0 + 10_000 && t < T0 + 11_000 ? 14 : 30));
    const points = qualityByRoomSize(dip);
    expect(points.some((point) => point.fpsMin === 14)).toBe(true);
    expect(qualityLimit(points)).toMatchObject({ failed: null, heldUpTo: 6 });
  });

  it('a frozen video fails the room size even when the frame rate is high enough', () => {
    const frozen = growingRoom(() => 30, [{ peerId: 'bot-2', from: T0 + 10_000, to: T0 + 12_000 }]);
    const limit = qualityLimit(qualityByRoomSize(frozen))!;
    expect(limit.failed).toMatchObject({ t: 11, largestRoom: 4, frozen: true });
    expect(limit.heldUpTo).toBe(4);
  });

  it('times a synthetic sender’s camera from its join to each bot’s first frame of it', () => {
    const { delays, shown } = syntheticFirstFrames(steady);
    expect([...delays].sort((a, b) => a - b)).toEqual([200, 300, 400, 500]);
    expect(shown).toBe(4);
  });

  it('lists every participant by name in the terminal summary, with the synthetic figures', () => {
    const text = formatSummary(steady, summarizeRun(steady), []);
    for (const name of names) expect(text, name).toContain(name);
    expect(text).toMatch(/^synthetic participants\s+4\/5 joined \(1 failed\) · 2 sending · 5 per room, up to 4 videos each, 1 thread$/m);
    expect(text).toMatch(/^synthetic packet loss\s+p50 0\.50 % · max 3\.00 % \(n=4\)$/m);
    expect(text).toMatch(/^synthetic received\s+p50 400 · min 300 kbit\/s$/m);
    expect(text).toMatch(/^synthetic camera → bots, first frame\s+p50 350 · p95 485 · max 500 ms \(n=4\)$/m);
    expect(text).toMatch(/^bot-syn-3r\s+r\s+receive\s+500\s+3\.00 \/ 3\.00\s+300\s+15\.0\s+2 \/ 2\s+12\.0\s+0$/m);
    expect(text).toMatch(/^bot-syn-5r\s+r\s+receive\s+–.*ICE <failed>$/m);
  });

  it('renders a self-contained "Synthetic participants" section: figures, charts against room size, a row per participant', () => {
    const thresholds = { ...noThresholds, minFps: 20 };
    const html = renderReport(steady, summarizeRun(steady), thresholds, []);
    expect(html).toContain('<h2>Synthetic participants</h2>');
    for (const name of names) expect(html, name).toContain(`<td>${name}</td>`);
    for (const title of [
      'Server CPU against participants',
      'received fps against room size',
      'packet loss over the steady state',
      'received bitrate',
      'first frame',
    ]) {
      expect(html).toContain(title);
    }
    expect(html).toContain('every bot ≥ 20 fps, no freeze (room size)');
    expect(html).toContain('ICE &#60;failed&#62;');
    expect(html).not.toContain('ICE <failed>');
    expect(html).not.toMatch(/<script|<link|src=|url\(/);
    // The figures head the section, not the bots' headline table.
    expect(html.split('synthetic packet loss')).toHaveLength(2);
  });

  it('a run without synthetic participants summarises and renders as before', () => {
    const plain = result([bot('bot-1', { samples: samplesFor([{ consumerId: 'c1', peerId: 'ana', fps: 20 }], T0 + 1000, 19) })]);
    const summary = summarizeRun(plain);
    expect('synthetic' in summary).toBe(false);
    expect(formatSummary(plain, summary, [])).not.toMatch(/synthetic|room size/i);
    expect(renderReport(plain, summary, noThresholds, [])).not.toMatch(/synthetic|room size/i);
  });

  it('merges machines’ synthetic participants and adds up their settings', () => {
    const a = growingRoom(() => 30);
    const b = growingRoom(() => 30);
    b.bots = b.bots.map((entry) => ({ ...entry, name: `us-${entry.name}` }));
    b.synthetic = b.synthetic!.map((record) => ({ ...record, name: `us-${record.name}` }));
    b.settings = { ...b.settings, synthetic: { perRoom: 3, sendersPerRoom: 1, maxVideos: 6, joinRate: 2, threads: 2 } };
    const merged = mergeResults([a, b]);
    expect(merged.synthetic?.map((record) => record.name)).toEqual([...a.synthetic!, ...b.synthetic].map((record) => record.name));
    expect(merged.settings.synthetic).toEqual({ perRoom: 8, sendersPerRoom: 3, maxVideos: 6, joinRate: 3, threads: 3 });
    expect(mergeResults([a, result([bot('eu-1')])]).synthetic).toHaveLength(5);
    expect('synthetic' in mergeResults([result([bot('eu-1')]), result([bot('us-1')])])).toBe(false);
    expect(() => mergeResults([a, { ...b, bots: [], synthetic: a.synthetic }])).toThrow(/bot-syn-1 appears twice/);
  });

  it('charts against a count: whole-number ticks, one point per count', () => {
    expect(ticks(0, 3, 8, 1)).toEqual([0, 1, 2, 3]);
    expect(
      alongX(
        [
          [3, 10],
          [2, 4],
          [3, 20],
          [4, null],
        ],
        mean,
      ),
    ).toEqual([
      [2, 4],
      [3, 15],
      [4, null],
    ]);
    const svg = lineChart({ title: 'cpu', xLabel: 'participants', yLabel: '%', integerX: true }, [
      {
        name: 'w',
        points: [
          [2, 1],
          [3, 2],
        ],
      },
    ]);
    expect(svg).not.toMatch(/>2\.5</);
  });
});
