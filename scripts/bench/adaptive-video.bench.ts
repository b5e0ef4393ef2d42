import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConferenceStats } from '../../client/src/conference/types.js';
import { launchChromium, openParticipant, type ParticipantPage } from '../../test/helpers/browser.js';
import { startTestServer } from '../../test/helpers/server.js';

/**
 * One headless-Chromium room measured twice: with adaptive reception (layers sized to tiles,
 * hidden tiles paused, grid paged to the window) and with `adaptive=0` (everything at full
 * quality). Prints server egress, media-worker CPU and what the pages decode.
 *
 *   npm run build:client && npx vitest run --config scripts/bench/vitest.config.ts
 *
 * Tunable through the environment: BENCH_SENDERS (camera and microphone, default 5),
 * BENCH_VIEWERS (neither, default 3), BENCH_WARMUP_S (default 20), BENCH_MEASURE_S (default 20).
 */

const root = path.resolve(import.meta.dirname, '../..');
const numberFrom = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const SENDERS = numberFrom('BENCH_SENDERS', 5);
const VIEWERS = numberFrom('BENCH_VIEWERS', 3);
const WARMUP_MS = numberFrom('BENCH_WARMUP_S', 20) * 1000;
const MEASURE_MS = numberFrom('BENCH_MEASURE_S', 20) * 1000;
/** Four 16:9 tiles of at least 240 px fit: one page holds oneself and three others. */
const VIEWPORT = { width: 640, height: 480 };

interface Sample {
  at: number;
  egressBytes: number;
  workerCpuMs: number;
  pages: ConferenceStats[];
}

interface Result {
  mode: string;
  egressMbps: number;
  workerCpuPercent: number;
  /** Frames per second of the videos a page shows (not paused for being out of sight), averaged. */
  shownVideoFps: number;
  /** Video frames decoded per second, all pages together. */
  decodedFps: number;
  /** Height of the frames those videos arrive in, averaged. */
  shownVideoHeight: number;
  /** Frames per second the senders encode (their largest layer), averaged. */
  sentFps: number;
  /** Height of the senders' largest layer, averaged (Chrome lowers it when the CPU is short). */
  sentHeight: number;
  /** How many shown videos arrive in each spatial layer (0, 1, 2). */
  layers: string;
  videosForwarded: number;
  videosPausedByClient: number;
}

let server: Awaited<ReturnType<typeof startTestServer>>;
let browser: Browser;
const results: Result[] = [];

beforeAll(async () => {
  server = await startTestServer({ CLIENT_DIST: path.join(root, 'client/dist') });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  console.table(results);
});

async function sample(pages: ParticipantPage[]): Promise<Sample> {
  const rooms = await server.rooms.list();
  const transports = rooms.flatMap((room) => [...room.peers.values()].map((peer) => peer.recvTransport));
  const egress = await Promise.all(transports.map(async (transport) => (await transport.getStats())[0]?.bytesSent ?? 0));
  const usage = await Promise.all(server.pool.live.map(({ worker }) => worker.getResourceUsage()));
  return {
    at: Date.now(),
    egressBytes: egress.reduce((sum, bytes) => sum + bytes, 0),
    workerCpuMs: usage.reduce((sum, { ru_utime, ru_stime }) => sum + ru_utime + ru_stime, 0),
    pages: await Promise.all(pages.map((page) => page.stats())),
  };
}

function summarize(mode: string, first: Sample, last: Sample): Result {
  const seconds = (last.at - first.at) / 1000;
  const videos = last.pages.flatMap((stats) => stats.consumers.filter((consumer) => consumer.kind === 'video'));
  const shown = videos.filter((consumer) => !consumer.pausedByClient);
  const decoded = (samples: Sample): number =>
    samples.pages.flatMap((stats) => stats.consumers).reduce((sum, consumer) => sum + (consumer.framesDecoded ?? 0), 0);
  const senders = last.pages.flatMap((stats) => stats.producers.filter((producer) => producer.kind === 'video'));
  const mean = (values: number[]): number => (values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length);
  const round = (value: number, digits = 1): number => Number(value.toFixed(digits));
  return {
    mode,
    egressMbps: round(((last.egressBytes - first.egressBytes) * 8) / seconds / 1e6, 2),
    workerCpuPercent: round(((last.workerCpuMs - first.workerCpuMs) / (seconds * 1000)) * 100),
    shownVideoFps: round(mean(shown.map((consumer) => consumer.framesPerSecond ?? 0))),
    shownVideoHeight: Math.round(mean(shown.map((consumer) => consumer.frameHeight ?? 0))),
    decodedFps: round((decoded(last) - decoded(first)) / seconds),
    sentFps: round(mean(senders.map((producer) => producer.framesPerSecond ?? 0))),
    sentHeight: Math.round(mean(senders.map((producer) => producer.frameHeight ?? 0))),
    layers: [0, 1, 2].map((layer) => shown.filter((consumer) => consumer.spatialLayer === layer).length).join('/'),
    videosForwarded: shown.length,
    videosPausedByClient: videos.length - shown.length,
  };
}

async function measure(mode: 'adaptive' | 'full', query: Record<string, string>): Promise<void> {
  const room = `bench-${mode}`;
  const pages: ParticipantPage[] = [];
  try {
    for (let i = 0; i < SENDERS + VIEWERS; i++) {
      const sender = i < SENDERS;
      pages.push(
        await openParticipant(browser, server.url, room, `${sender ? 'Sender' : 'Viewer'} ${i + 1}`, {
          query: { ...query, ...(sender ? {} : { cam: '0', mic: '0' }) },
          viewport: VIEWPORT,
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    const first = await sample(pages);
    await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
    const result = summarize(mode, first, await sample(pages));
    console.log(`[bench] ${SENDERS} senders + ${VIEWERS} viewers, ${VIEWPORT.width}×${VIEWPORT.height}: ${JSON.stringify(result)}`);
    results.push(result);
  } finally {
    await Promise.all(pages.map((page) => page.close()));
  }
}

it('adaptive reception against full quality for everyone', async () => {
  await measure('adaptive', {});
  await measure('full', { adaptive: '0' });
  expect(results).toHaveLength(2);
});
