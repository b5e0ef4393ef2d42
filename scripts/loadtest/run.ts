import os from 'node:os';
import type { Browser } from 'playwright-core';
import { signToken } from '../../server/src/auth/token.js';
import { Bot, type BotPlan } from './bot.js';
import { launchChromium } from './chromium.js';
import { MachineMonitor } from './machine.js';
import type { LoadTestOptions } from './options.js';
import { progressLine } from './progress.js';
import { ServerMetricsPoller } from './serverMetrics.js';
import { missingCameras } from './stats.js';
import { loadSyntheticMedia } from './synthetic/media.js';
import type { SyntheticPlan } from './synthetic/records.js';
import { SyntheticPool } from './synthetic/SyntheticPool.js';
import type { RunResult, SyntheticRecord } from './types.js';

const TICK_MS = 1000;
const SETTLE_POLL_MS = 250;

/**
 * Who joins, in order: rooms fill side by side, and each room's senders come first, so a receiver
 * joining later has cameras to wait for.
 */
export function planBots({
  rooms,
  participantsPerRoom,
  sendersPerRoom,
  botPrefix,
}: Pick<LoadTestOptions, 'rooms' | 'participantsPerRoom' | 'sendersPerRoom' | 'botPrefix'>): BotPlan[] {
  const plans: BotPlan[] = [];
  const width = String(participantsPerRoom).length;
  for (let i = 0; i < participantsPerRoom; i++) {
    rooms.forEach((room, r) => {
      const sender = i < sendersPerRoom;
      const number = String(i + 1).padStart(width, '0');
      plans.push({ room, sender, name: `${botPrefix}-${rooms.length > 1 ? `${r + 1}-` : ''}${number}${sender ? '' : 'r'}` });
    });
  }
  return plans;
}

/** The synthetic participants, in order: each room's senders first, rooms side by side. */
export function planSynthetic({ rooms, synthetic, botPrefix }: Pick<LoadTestOptions, 'rooms' | 'synthetic' | 'botPrefix'>): SyntheticPlan[] {
  if (!synthetic) return [];
  const plans: SyntheticPlan[] = [];
  const width = String(synthetic.perRoom).length;
  for (let i = 0; i < synthetic.perRoom; i++) {
    rooms.forEach((room, r) => {
      const sender = i < synthetic.sendersPerRoom;
      const number = String(i + 1).padStart(width, '0');
      plans.push({ room, sender, name: `${botPrefix}-syn-${rooms.length > 1 ? `${r + 1}-` : ''}${number}${sender ? '' : 'r'}` });
    });
  }
  return plans;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export interface RunHooks {
  /** Called every second with the live status line. */
  onProgress?: (line: string) => void;
  /** Stops the run early (Ctrl-C); what was measured so far is still returned. */
  signal?: AbortSignal;
}

/** Runs the bots, samples everything once a second, and returns the raw result. */
export async function runLoadTest(options: LoadTestOptions, { onProgress, signal }: RunHooks = {}): Promise<RunResult> {
  const plans = planBots(options);
  const startedAt = Date.now();
  const browsers = new Map<number, Promise<Browser>>();
  const browserFor = (index: number): Promise<Browser> => {
    const group = Math.floor(index / options.perBrowser);
    let browser = browsers.get(group);
    if (!browser) {
      browser = launchChromium({ executablePath: options.chromium, videoFile: options.videoFile ?? undefined, extraArgs: secureContextArgs(options.url) });
      browsers.set(group, browser);
    }
    return browser;
  };

  // Valid for the whole run: every join, the measured window, and reconnections within it.
  const syntheticPlans = planSynthetic(options);
  const tokenSeconds = Math.ceil(
    plans.length / options.joinRate + syntheticPlans.length / (options.synthetic?.joinRate ?? 1) + options.settleSeconds + options.durationSeconds + 600,
  );
  const joinToken = async (plan: Pick<BotPlan, 'room' | 'name'>): Promise<string | undefined> =>
    options.authSecret ? signToken(options.authSecret, { room: plan.room, name: plan.name }, tokenSeconds) : undefined;

  const bots: Bot[] = [];
  let pool: SyntheticPool | null = null;
  const server = new ServerMetricsPoller(options.metricsUrl, options.metricsToken);
  const machine = new MachineMonitor();
  let lastTickAt = 0;
  const tick = async (): Promise<void> => {
    lastTickAt = Date.now();
    await Promise.all([server.poll(), ...bots.map((bot) => bot.sample()), pool?.sample()]);
    const line = progressLine(
      Date.now() - startedAt,
      bots.map((bot) => bot.record),
      plans.length,
      server.samples,
      machine.sample(),
      pool ? { records: pool.records, total: syntheticPlans.length } : undefined,
    );
    onProgress?.(line);
  };
  // Once a second; a slow tick (many bots under load) delays the next instead of piling up.
  const stopTicking = new AbortController();
  const ticking = (async () => {
    while (!stopTicking.signal.aborted) {
      const began = Date.now();
      await tick().catch(() => undefined);
      await sleep(TICK_MS - (Date.now() - began), stopTicking.signal);
    }
  })();

  try {
    const joins: Promise<void>[] = [];
    for (const [index, plan] of plans.entries()) {
      if (signal?.aborted) break;
      await sleep(Math.max(0, startedAt + (index * 1000) / options.joinRate - Date.now()), signal);
      if (signal?.aborted) break;
      const bot = new Bot(plan);
      bots.push(bot);
      joins.push(
        browserFor(index).then(
          async (browser) => bot.join(browser, options, await joinToken(plan)),
          (error: unknown) => {
            bot.record.error = `Chromium did not start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
          },
        ),
      );
    }
    await Promise.all(joins);
    if (options.synthetic && syntheticPlans.length > 0 && !signal?.aborted) {
      const { synthetic } = options;
      const sending = syntheticPlans.some((plan) => plan.sender);
      // Encoded once here (and cached) so that the threads only read it.
      if (sending) await loadSyntheticMedia((line) => onProgress?.(line));
      const started = new SyntheticPool({ url: options.url, threads: synthetic.threads, maxVideos: synthetic.maxVideos, media: sending });
      pool = started;
      // Senders first, publishing before any receiver joins: everyone already in the room then
      // sees their cameras first (a page lists participants in the order their media arrived).
      for (const group of [syntheticPlans.filter((plan) => plan.sender), syntheticPlans.filter((plan) => !plan.sender)]) {
        const groupStart = Date.now();
        const joining: Promise<void>[] = [];
        for (const [index, plan] of group.entries()) {
          if (signal?.aborted) break;
          await sleep(Math.max(0, groupStart + (index * 1000) / synthetic.joinRate - Date.now()), signal);
          if (signal?.aborted) break;
          joining.push(joinToken(plan).then((token) => started.join(plan, token)));
        }
        await Promise.all(joining);
      }
    }
    const allJoinedAt = Date.now();
    const settledAt = await waitUntilSettled(bots, pool?.records ?? [], allJoinedAt + options.settleSeconds * 1000, signal);
    if (pool) {
      // Each synthetic participant's streams as the measured window begins, to count loss within it.
      while (pool.sampling) await sleep(20);
      await pool.sample(true);
      for (const record of pool.records) record.streamsAtStart = record.streams;
    }
    await sleep(options.durationSeconds * 1000, signal);
    stopTicking.abort();
    await ticking;
    // The final state, unless the last tick just took it (a few-ms interval would read as 0 fps).
    if (Date.now() - lastTickAt > TICK_MS / 2) await tick();
    // Each synthetic participant's streams as they were at the end, before anyone leaves.
    if (pool) {
      while (pool.sampling) await sleep(20);
      await pool.sample(true);
    }
    const endedAt = Date.now();
    return {
      tool: 'conclave-loadtest',
      version: 1,
      startedAt,
      endedAt,
      allJoinedAt,
      settledAt,
      settings: {
        url: options.url,
        rooms: options.rooms,
        participantsPerRoom: options.participantsPerRoom,
        sendersPerRoom: options.sendersPerRoom,
        durationSeconds: options.durationSeconds,
        settleSeconds: options.settleSeconds,
        joinRate: options.joinRate,
        perBrowser: options.perBrowser,
        videoFile: options.videoFile,
        botPrefix: options.botPrefix,
        viewport: options.viewport,
        query: options.query,
        ...(options.synthetic ? { synthetic: options.synthetic } : {}),
      },
      sources: [{ host: os.hostname(), botPrefix: options.botPrefix, bots: bots.length, startedAt, endedAt, machine: machine.samples }],
      bots: bots.map((bot) => bot.record),
      server: server.samples,
      serverMetricsError: server.error,
      ...(pool ? { synthetic: pool.records } : {}),
    };
  } finally {
    stopTicking.abort();
    await ticking;
    await Promise.all([...bots.map((bot) => bot.close()), pool?.close()]);
    await Promise.all(
      [...browsers.values()].map((browser) =>
        browser.then(
          (b) => b.close(),
          () => undefined,
        ),
      ),
    );
  }
}

/**
 * Waits until every joined bot's newest sample, taken after the last join, shows it decoding every
 * camera published in its room by the run's other bots and synthetic senders (or hidden on purpose): the room has
 * converged and what follows is steady state. Returns when that was seen, or null past the deadline.
 */
async function waitUntilSettled(bots: Bot[], synthetic: SyntheticRecord[], deadline: number, signal?: AbortSignal): Promise<number | null> {
  const since = Date.now();
  for (;;) {
    const settled = bots.every((bot) => {
      if (!bot.joined) return true;
      const sample = bot.record.samples.at(-1);
      if (!sample || sample.t < since) return false;
      const others = bots.filter((other) => other !== bot && other.joined && other.plan.sender && other.plan.room === bot.plan.room);
      const syntheticSenders = synthetic.filter((record) => record.sender && record.peerId !== null && record.error === null && record.room === bot.plan.room);
      return missingCameras(sample, [...others.map((other) => other.record.peerId!), ...syntheticSenders.map((record) => record.peerId!)]).length === 0;
    });
    if (settled) return Date.now();
    if (Date.now() >= deadline || signal?.aborted) return null;
    await sleep(SETTLE_POLL_MS, signal);
  }
}

/**
 * Cameras need a secure context: a server reached over plain http on another host (a LAN address,
 * a test node in a network namespace) is treated as one for the bots, as localhost already is.
 */
export function secureContextArgs(url: string): string[] {
  const { protocol, hostname, origin } = new URL(url);
  return protocol === 'http:' && hostname !== 'localhost' && hostname !== '127.0.0.1' ? [`--unsafely-treat-insecure-origin-as-secure=${origin}`] : [];
}
