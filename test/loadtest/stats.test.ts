import { describe, expect, it } from 'vitest';
import { mergeResults } from '../../scripts/loadtest/merge.js';
import { parseOptions, UsageError } from '../../scripts/loadtest/options.js';
import { parsePrometheusText, sampleValue } from '../../scripts/loadtest/prometheus.js';
import { repeatRow, summarizeRepeats } from '../../scripts/loadtest/repeats.js';
import { planBots } from '../../scripts/loadtest/run.js';
import { toServerSample } from '../../scripts/loadtest/serverMetrics.js';
import {
  distribution,
  freezes,
  intervals,
  missingCameras,
  missedThresholds,
  percentile,
  serverIntervals,
  steadyWindow,
  summarizeBot,
  summarizeRun,
} from '../../scripts/loadtest/stats.js';
import type { RunResult } from '../../scripts/loadtest/types.js';
import { bot, result, samplesFor, serverSamples, T0 } from './fixtures.js';

describe('load-test statistics', () => {
  it('percentiles interpolate between ranks; empty sets give null', () => {
    expect(percentile([10, 20, 30, 40], 50)).toBe(25);
    expect(percentile([10, 20, 30, 40], 95)).toBeCloseTo(38.5);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNull();
    expect(distribution([3, 1, 2])).toEqual({ n: 3, min: 1, p50: 2, p95: 2.9, max: 3, mean: 2 });
    expect(distribution([])).toMatchObject({ n: 0, p50: null, max: null });
  });

  it('turns cumulative counters into per-interval fps and loss, never negative', () => {
    const samples = samplesFor([{ consumerId: 'c1', peerId: 'ana', fps: 20, lossPerSecond: 2 }], T0, 2);
    // Late packets make packetsLost go down: that is not negative loss.
    samples[2]!.consumers[0]!.packetsLost = 0;
    const [first, second] = intervals(samples);
    expect(first!.consumers[0]).toMatchObject({ fps: 20, received: 100, lost: 2, started: true });
    expect(first!.consumers[1]).toMatchObject({ fps: null, received: 50, lost: 0 });
    expect(second!.consumers[0]).toMatchObject({ lost: 0 });
  });

  it('counts a freeze when a started video decodes nothing for a whole interval, merging consecutive ones', () => {
    const samples = samplesFor([{ consumerId: 'c1', peerId: 'ana', fps: 20 }], T0, 8, [
      { peerId: 'ana', from: T0 + 2000, to: T0 + 4000 },
      { peerId: 'ana', from: T0 + 6000, to: T0 + 7000 },
    ]);
    expect(freezes(intervals(samples))).toEqual([
      { peerId: 'ana', from: T0 + 2000, to: T0 + 4000 },
      { peerId: 'ana', from: T0 + 6000, to: T0 + 7000 },
    ]);
  });

  it('a few ms without a frame between two close samples is not a freeze', () => {
    const samples = samplesFor([{ consumerId: 'c1', peerId: 'ana', fps: 20 }], T0, 3);
    samples.push({ ...samples.at(-1)!, t: samples.at(-1)!.t + 40 });
    expect(freezes(intervals(samples))).toEqual([]);
  });

  it('a video that has not started yet is not frozen', () => {
    const samples = samplesFor([{ consumerId: 'c1', peerId: 'ana', fps: 0 }], T0, 3);
    for (const sample of samples) sample.consumers[0]!.framesDecoded = 0;
    expect(freezes(intervals(samples))).toEqual([]);
  });

  it('summarises a bot: join, first frame and all-video times against the cameras present at join, fps, loss, jitter', () => {
    const record = bot('bot-3', {
      joinMs: 1200,
      presentAtJoin: ['ana', 'ben', 'listener'],
      firstFrames: { ana: 1400, ben: 1900 },
      samples: samplesFor(
        [
          { consumerId: 'c1', peerId: 'ana', fps: 20 },
          { consumerId: 'c2', peerId: 'ben', fps: 10, lossPerSecond: 3 },
        ],
        T0 + 2000,
        15,
      ),
    });
    const summary = summarizeBot(record, { from: T0 + 5000, to: T0 + 17_000 });
    // 'listener' publishes no camera, so only ana and ben are waited for.
    expect(summary).toMatchObject({
      joined: true,
      joinMs: 1200,
      expected: 2,
      firstFrameMs: 1400,
      allVideoMs: 1900,
      videoFrom: 2,
      cameraPublishers: 2,
      receivingAll: true,
      freezes: 0,
    });
    expect(summary.fps).toBeCloseTo(15);
    expect(summary.minConsumerFps).toBeCloseTo(10);
    // 3 lost per 300 received per second (video 100 + 100 + audio 50 + 50).
    expect(summary.lossPct).toBeCloseTo((100 * 3) / 303);
    expect(summary.jitterMs).toBeCloseTo(10);
    expect(summary.resolutions).toEqual(['640x480', '640x480']);
  });

  it('a camera whose owner was still joining when the bot loaded is not one it found in the room', () => {
    const samples = samplesFor([{ consumerId: 'c1', peerId: 'ana', fps: 20 }], T0 + 2000, 5);
    const record = bot('bot-6', { startedAt: T0, presentAtJoin: ['ana'], firstFrames: { ana: 3000 }, samples });
    expect(summarizeBot(record, { from: T0, to: T0 + 7000 }, new Map([['ana', T0 - 1]]))).toMatchObject({ expected: 1, firstFrameMs: 3000 });
    expect(summarizeBot(record, { from: T0, to: T0 + 7000 }, new Map([['ana', T0 + 500]]))).toMatchObject({
      expected: 0,
      firstFrameMs: null,
      allVideoMs: null,
    });
  });

  it('a camera that never reaches the bot counts as 0 fps and spoils "receiving all"', () => {
    const samples = samplesFor([{ consumerId: 'c1', peerId: 'ana', fps: 20 }], T0 + 2000, 10);
    for (const sample of samples) sample.cameraPublishers = ['ana', 'ben'];
    const summary = summarizeBot(bot('bot-4', { presentAtJoin: ['ana', 'ben'], samples }), { from: T0 + 3000, to: T0 + 12_000 });
    expect(summary.fps).toBeCloseTo(10);
    expect(summary.minConsumerFps).toBe(0);
    expect(summary).toMatchObject({ receivingAll: false, videoFrom: 1, allVideoMs: null });
  });

  it('a camera the bot hides on purpose (its tile is off the page, paused by adaptive reception) is not expected', () => {
    const samples = samplesFor(
      [
        { consumerId: 'c1', peerId: 'ana', fps: 20 },
        { consumerId: 'c2', peerId: 'ben', fps: 0 },
      ],
      T0 + 2000,
      10,
    );
    for (const sample of samples) {
      const ben = sample.consumers.find((consumer) => consumer.consumerId === 'c2')!;
      ben.pausedByClient = true;
      ben.framesDecoded = 0;
    }
    const summary = summarizeBot(bot('bot-5', { presentAtJoin: ['ana', 'ben'], firstFrames: { ana: 2500 }, samples }), { from: T0 + 3000, to: T0 + 12_000 });
    expect(summary).toMatchObject({ expected: 1, allVideoMs: 2500, videoFrom: 1, cameraPublishers: 1, hidden: 1, receivingAll: true, freezes: 0 });
    expect(summary.fps).toBeCloseTo(20);
    expect(summary.resolutions).toEqual(['640x480']);
  });

  it('falls back to the first sample with decoded frames when the page saw no frame callback', () => {
    const summary = summarizeBot(bot('b', { presentAtJoin: ['ana'], samples: samplesFor([{ consumerId: 'c1', peerId: 'ana', fps: 20 }], T0 + 3000, 4) }), {
      from: T0,
      to: T0 + 10_000,
    });
    expect(summary.firstFrameMs).toBe(3000);
  });

  it('the steady window starts once every bot received every camera; without that, after the last join plus at most 5 s', () => {
    expect(steadyWindow({ allJoinedAt: T0, settledAt: T0 + 7000, endedAt: T0 + 60_000 })).toEqual({ from: T0 + 7000, to: T0 + 60_000 });
    expect(steadyWindow({ allJoinedAt: T0, settledAt: null, endedAt: T0 + 60_000 })).toEqual({ from: T0 + 5000, to: T0 + 60_000 });
    expect(steadyWindow({ allJoinedAt: T0, endedAt: T0 + 9000 })).toEqual({ from: T0 + 3000, to: T0 + 9000 });
  });

  it('a camera is missing until the bot decodes it, unless the bot hides it on purpose', () => {
    const [sample] = samplesFor(
      [
        { consumerId: 'c1', peerId: 'ana', fps: 20 },
        { consumerId: 'c2', peerId: 'ben', fps: 20 },
        { consumerId: 'c3', peerId: 'cy', fps: 20 },
      ],
      T0,
      0,
    );
    const consumer = (id: string) => sample!.consumers.find((entry) => entry.consumerId === id)!;
    consumer('c2').framesDecoded = 0; // subscribed, nothing decoded yet
    consumer('c3').pausedByClient = true; // off the page
    consumer('c3').framesDecoded = 0;
    expect(missingCameras(sample!, ['ana', 'ben', 'cy', 'dee'])).toEqual(['ben', 'dee']);
  });

  it('turns worker CPU counters into % of a core, and survives a replaced worker', () => {
    const samples = serverSamples(T0, 3, [0.5, 0.25]);
    samples[3]!.workers[1]!.cpuSeconds = 0.01; // worker 1 restarted
    const list = serverIntervals(samples);
    expect(list.map((interval) => interval.workers[0]!.cpuPercent)).toEqual([50, 50, 50]);
    expect(list.map((interval) => interval.workers[1]!.cpuPercent)).toEqual([25, 25, 0]);
    expect(list[0]!.processCpuPercent).toBeCloseTo(5);
  });

  it('reads a ServerSample from Prometheus text', () => {
    const text = [
      '# HELP conclave_worker_cpu_seconds_total CPU',
      '# TYPE conclave_worker_cpu_seconds_total counter',
      'conclave_worker_cpu_seconds_total{worker="1"} 2.5',
      'conclave_worker_cpu_seconds_total{worker="0"} 1.25',
      'conclave_worker_consumers{worker="0"} 12',
      'conclave_worker_producers{worker="0"} 4',
      'process_cpu_seconds_total 3.5',
      'process_resident_memory_bytes 1.5e+08',
      'weird_metric{a="x\\"y",b="z"} NaN',
      'not a sample line',
    ].join('\n');
    const samples = parsePrometheusText(text);
    expect(sampleValue(samples, 'weird_metric', { a: 'x"y' })).toBeNaN();
    expect(toServerSample(samples, T0)).toEqual({
      t: T0,
      workers: [
        { worker: '0', cpuSeconds: 1.25, producers: 4, consumers: 12 },
        { worker: '1', cpuSeconds: 2.5, producers: 0, consumers: 0 },
      ],
      processCpuSeconds: 3.5,
      rssBytes: 150_000_000,
    });
  });

  it('summarises a run and checks thresholds: join time, every bot’s fps, every bot’s loss, failed joins', () => {
    const cameras = [{ consumerId: 'c1', peerId: 'ana', fps: 20 }];
    const run = result([
      bot('good', { joinMs: 900, samples: samplesFor(cameras, T0 + 1000, 19) }),
      bot('slow', { joinMs: 4000, samples: samplesFor([{ consumerId: 'c2', peerId: 'ana', fps: 12, lossPerSecond: 5 }], T0 + 1000, 19) }),
      bot('broken', { joinMs: null, error: 'Timeout 45000ms exceeded' }),
    ]);
    const summary = summarizeRun(run);
    expect(summary).toMatchObject({ bots: 3, joined: 2, failed: 1, receivingAll: 2 });
    expect(summary.join).toMatchObject({ n: 2, max: 4000 });
    expect(summary.server?.workers.map((worker) => Math.round(worker.cpuMean ?? 0))).toEqual([20, 10]);
    expect(summary.machines).toEqual([{ host: 'here', cpuMean: 50, cpuMax: 50, cores: 2, toolCpuMean: null }]);

    expect(missedThresholds(summary, { maxJoinMs: null, minFps: null, maxLossPct: null })).toEqual(['1 of 3 bots did not join']);
    const missed = missedThresholds(summary, { maxJoinMs: 3000, minFps: 15, maxLossPct: 2 });
    expect(missed).toHaveLength(4);
    expect(missed.join('\n')).toMatch(/slowest join 4000 ms > --max-join-ms 3000/);
    expect(missed.join('\n')).toMatch(/1 bots below --min-fps 15 \(worst 12 fps\)/);
    expect(missed.join('\n')).toMatch(/1 bots above --max-loss 2%/);
  });
});

describe('load-test command line', () => {
  it('has defaults in the spirit of lk load-test and Malleus', () => {
    const options = parseOptions([], {})!;
    expect(options).toMatchObject({
      url: 'http://localhost:3000',
      rooms: ['loadtest'],
      participantsPerRoom: 4,
      sendersPerRoom: 4,
      durationSeconds: 30,
      settleSeconds: 30,
      joinRate: 1,
      perBrowser: 4,
      botPrefix: 'bot',
      metricsUrl: 'http://localhost:3000/metrics',
      viewport: { width: 1280, height: 720 },
      query: {},
    });
    expect(options.outDir).toMatch(/^loadtest-results\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
    expect(options.thresholds).toEqual({ maxJoinMs: null, minFps: null, maxLossPct: null });
  });

  it('spreads bots over rooms, senders first, and reads thresholds and the metrics token', () => {
    const options = parseOptions(
      [
        '--url',
        'http://sfu:8080/',
        '--rooms',
        '2',
        '--room',
        'demo',
        '--participants',
        '3',
        '--senders',
        '1',
        '--bot-prefix',
        'eu',
        '--min-fps',
        '15',
        '--max-loss',
        '2',
        '--max-join-ms',
        '5000',
        '--viewport',
        '640x360',
        '--query',
        'adaptive=0',
        '--query',
        'pageSize=9',
      ],
      { METRICS_TOKEN: 'secret', AUTH_SECRET: 'join-token-secret-0123456789' },
    )!;
    expect(options).toMatchObject({
      authSecret: 'join-token-secret-0123456789',
      url: 'http://sfu:8080',
      rooms: ['demo-1', 'demo-2'],
      metricsToken: 'secret',
      metricsUrl: 'http://sfu:8080/metrics',
      thresholds: { maxJoinMs: 5000, minFps: 15, maxLossPct: 2 },
      viewport: { width: 640, height: 360 },
      query: { adaptive: '0', pageSize: '9' },
    });
    expect(planBots(options)).toEqual([
      { room: 'demo-1', sender: true, name: 'eu-1-1' },
      { room: 'demo-2', sender: true, name: 'eu-2-1' },
      { room: 'demo-1', sender: false, name: 'eu-1-2r' },
      { room: 'demo-2', sender: false, name: 'eu-2-2r' },
      { room: 'demo-1', sender: false, name: 'eu-1-3r' },
      { room: 'demo-2', sender: false, name: 'eu-2-3r' },
    ]);
  });

  it('refuses what it cannot do, and answers --help with null', () => {
    expect(parseOptions(['--help'], {})).toBeNull();
    expect(() => parseOptions(['--participants', '0'], {})).toThrow(UsageError);
    expect(() => parseOptions(['--participants', '2', '--senders', '3'], {})).toThrow(/cannot exceed/);
    expect(() => parseOptions(['--video-file', 'clip.mp4'], {})).toThrow(/y4m or \.mjpeg/);
    expect(() => parseOptions(['--url', 'localhost:3000'], {})).toThrow(/http/);
    expect(() => parseOptions(['--frobnicate'], {})).toThrow(UsageError);
    expect(() => parseOptions(['--viewport', 'big'], {})).toThrow(/1280x720/);
    expect(() => parseOptions(['--query', 'room=other'], {})).toThrow(/KEY=VALUE/);
    expect(() => parseOptions(['--chromium', '/nonexistent/chromium'], {})).toThrow(/no Chromium/);
    expect(() => parseOptions(['--auth-secret', 'short'], {})).toThrow(/at least 16/);
  });
});

describe('loadtest:merge --repeats', () => {
  it('counts the runs that passed and takes each figure’s median over the runs', () => {
    const run = (fps: number, joinMs: number): RunResult =>
      result([bot('bot-1', { joinMs, samples: samplesFor([{ consumerId: 'c1', peerId: 'ana', fps }], T0 + 1000, 19) })]);
    const summary = summarizeRepeats('1 bot', [run(20, 900), run(10, 1500), run(18, 1000)], { maxJoinMs: null, minFps: 15, maxLossPct: 2 });
    expect(summary).toMatchObject({ label: '1 bot', runs: 3, passed: 2, worstBotLossPct: 0, joinP50: 1000, workerCpu: 20 });
    expect(summary.fpsMean).toBeCloseTo(18);
    expect(repeatRow(summary)).toMatch(/^\| 1 bot \| 3 \| 2 \| 18\.0 \| 18\.0 \| 0\.00 \| 1000 \/ 1000 \|/);
  });
});

describe('loadtest:merge', () => {
  it('pools bots of several machines, waits for the last machine’s joins, and refuses duplicate bot names', () => {
    const a = result([bot('eu-1')], {
      allJoinedAt: T0 + 4000,
      sources: [{ host: 'a', botPrefix: 'eu', bots: 1, startedAt: T0, endedAt: T0 + 20_000, machine: [] }],
    });
    const b = result([bot('us-1')], {
      startedAt: T0 + 500,
      allJoinedAt: T0 + 6000,
      endedAt: T0 + 19_000,
      sources: [{ host: 'b', botPrefix: 'us', bots: 1, startedAt: T0 + 500, endedAt: T0 + 19_000, machine: [] }],
    });
    a.settings.botPrefix = 'eu';
    b.settings.botPrefix = 'us';
    expect(mergeResults([a, b]).settledAt).toBeNull(); // neither machine saw its bots settle
    a.settledAt = T0 + 7000;
    b.settledAt = T0 + 9000;
    const merged = mergeResults([a, b]);
    expect(merged.settledAt).toBe(T0 + 9000);
    expect(merged.bots.map((entry) => entry.name)).toEqual(['eu-1', 'us-1']);
    expect(merged).toMatchObject({ startedAt: T0, allJoinedAt: T0 + 6000, endedAt: T0 + 19_000 });
    expect(merged.sources.map((source) => source.host)).toEqual(['a', 'b']);
    expect(merged.settings.botPrefix).toBe('eu+us');
    expect(merged.server).toHaveLength(a.server.length + b.server.length);
    expect(merged.server.every((sample, i) => i === 0 || sample.t >= merged.server[i - 1]!.t)).toBe(true);
    expect(() => mergeResults([a, a])).toThrow(/bot-prefix/);
  });
});
