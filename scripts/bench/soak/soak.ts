import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import vm from 'node:vm';
import v8 from 'node:v8';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseConfig } from '../../../server/src/config.js';
import { createLogger } from '../../../server/src/logger.js';
import { startServer, type ConclaveServer } from '../../../server/src/server.js';
import { launchChromium } from '../../loadtest/chromium.js';
import { benchOptions } from '../cliOptions.js';

/**
 * `npm run bench:soak -- --minutes N`: a server in this process and headless-Chromium people in a
 * loop — two residents stay in one room the whole time; each cycle two more join it (camera,
 * microphone, a screen share, chat, a file) and two meet in a room of their own, then all four
 * leave. Every sample prints the server's Node RSS and heap (after a GC), the workers' RSS, and
 * the mediasoup objects counted from the workers' own dumps. It fails when, over the second half,
 * memory grows by more than 5 %, or when after any cycle the objects do not return to what the two
 * residents explain (the counts taken before the first cycle).
 */

interface Options {
  minutes: number;
  sampleSeconds: number;
  out: string;
}

const HELP = `Usage: npm run bench:soak -- [--minutes N (default 30)] [--sample-seconds S (default 10)] [--out DIR]`;
const GROWTH_LIMIT = 0.05;
const STEP_TIMEOUT_MS = 60_000;

export interface ObjectCounts {
  rooms: number;
  peers: number;
  routers: number;
  transports: number;
  producers: number;
  consumers: number;
  dataProducers: number;
  dataConsumers: number;
  /** Every object a worker knows (its channel request handlers): what leaks even outside a router. */
  workerObjects: number;
}

interface Sample {
  t: number;
  nodeRssMb: number;
  heapUsedMb: number;
  workerRssMb: number;
  counts: ObjectCounts;
}

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: { minutes: { type: 'string' }, 'sample-seconds': { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return null;
  const minutes = Number(values.minutes ?? 30);
  const sampleSeconds = Number(values['sample-seconds'] ?? 10);
  if (!(minutes > 0) || !(sampleSeconds >= 1)) throw new Error('--minutes must be > 0 and --sample-seconds ≥ 1');
  const out = values.out ?? path.join('bench-results', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  return { minutes, sampleSeconds, out };
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A process's resident memory now (not its peak), from /proc. */
function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The mediasoup objects that exist, as the workers themselves report them. */
export async function countObjects(server: ConclaveServer): Promise<ObjectCounts> {
  const rooms = await server.rooms.list();
  const counts: ObjectCounts = {
    rooms: rooms.length,
    peers: rooms.reduce((sum, room) => sum + room.peers.size, 0),
    routers: 0,
    transports: 0,
    producers: 0,
    consumers: 0,
    dataProducers: 0,
    dataConsumers: 0,
    workerObjects: 0,
  };
  for (const { worker } of server.pool.live) {
    const dump = await worker.dump();
    counts.routers += dump.routerIds.length;
    counts.workerObjects += dump.channelMessageHandlers.channelRequestHandlers.length;
  }
  for (const room of rooms) {
    for (const { router } of room.routers) {
      const dump = await router.dump();
      counts.transports += dump.transportIds.length;
      counts.producers += dump.mapProducerIdConsumerIds.length;
      counts.consumers += dump.mapConsumerIdProducerId.length;
      counts.dataProducers += dump.mapDataProducerIdDataConsumerIds.length;
      counts.dataConsumers += dump.mapDataConsumerIdDataProducerId.length;
    }
  }
  return counts;
}

interface Person {
  context: BrowserContext;
  page: Page;
  id: string;
}

async function join(browser: Browser, url: string, room: string, name: string, query: Record<string, string> = {}): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 960, height: 540 } });
  try {
    const page = await context.newPage();
    await page.goto(`${url}/?${new URLSearchParams({ room, name, ...query }).toString()}`);
    await page.waitForFunction(() => window.conclave !== undefined);
    await step(
      `${name} joins`,
      page.evaluate(() => window.conclave!.ready),
    );
    await step(
      `${name}'s data channels open`,
      page.evaluate(() => window.conclave!.dataReady()),
    );
    const id = await page.evaluate(() => window.conclave!.state().self!.id);
    return { context, page, id };
  } catch (error) {
    await context.close();
    throw error;
  }
}

async function leave(person: Person): Promise<void> {
  await person.page.evaluate(() => window.conclave!.leave()).catch(() => undefined);
  await person.context.close();
}

/** Resolves when `viewer` decodes the camera (and, with `screen`, the screen) of `peerId`. */
async function decodes(viewer: Person, peerId: string, screen = false, timeoutMs = 30_000): Promise<void> {
  await viewer.page.waitForFunction(
    async ({ peerId, screen }) => {
      const stats = await window.conclave!.stats();
      const has = (source: string) =>
        stats.consumers.some((consumer) => consumer.peerId === peerId && consumer.source === source && (consumer.framesDecoded ?? 0) > 0);
      return has('camera') && (!screen || has('screen'));
    },
    { peerId, screen },
    { timeout: timeoutMs, polling: 250 },
  );
}

/** A page call that must finish within STEP_TIMEOUT_MS; a page stuck in one fails the cycle and says where. */
async function step<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${STEP_TIMEOUT_MS / 1000} s`)), STEP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One cycle: two join the residents' room and use everything, two meet in a room of their own, all four leave. */
async function cycle(browser: Browser, url: string, n: number, residents: Person[]): Promise<void> {
  const arrivals = await Promise.allSettled([
    join(browser, url, 'soak', `Cy ${n}`),
    join(browser, url, 'soak', `Dee ${n}`, { cam: '0' }),
    join(browser, url, `soak-side-${n}`, `Eve ${n}`),
    join(browser, url, `soak-side-${n}`, `Fay ${n}`, { mic: '0' }),
  ]);
  const people = arrivals.flatMap((arrival) => (arrival.status === 'fulfilled' ? [arrival.value] : []));
  try {
    const failed = arrivals.find((arrival) => arrival.status === 'rejected');
    if (failed) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    const [cy, dee, eve, fay] = people as [Person, Person, Person, Person];
    const steps = async (): Promise<void> => {
      await step(
        'Cy shares her screen',
        cy.page.evaluate(() => window.conclave!.shareScreen()),
      );
      await step(
        'Dee chats',
        dee.page.evaluate((text) => window.conclave!.chat.send(text), `hello from cycle ${n}`),
      );
      await step(
        'Cy offers a file',
        cy.page.evaluate(() => window.conclave!.sendFile({ name: 'notes.bin', type: 'application/octet-stream', bytes: new Uint8Array(256 * 1024) })),
      );
      await step(
        'everyone decodes everyone',
        Promise.all([decodes(residents[0]!, cy.id, true), decodes(cy, residents[1]!.id), decodes(eve, fay.id), decodes(fay, eve.id)]),
      );
      await sleep(3000);
    };
    await steps();
  } finally {
    // Whatever went wrong, they leave: a cycle's failure must not look like a leak in the next.
    await Promise.all(people.map(leave));
  }
}

const differences = (a: ObjectCounts, b: ObjectCounts): string[] =>
  (Object.keys(a) as (keyof ObjectCounts)[]).filter((key) => a[key] !== b[key]).map((key) => `${key} ${b[key]} (expected ${a[key]})`);

const median = (values: number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

export async function soakCli(argv: string[]): Promise<number> {
  const parsed = benchOptions(argv, parseOptions, HELP);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { options } = parsed;
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const config = parseConfig({
    ...process.env,
    NODE_ENV: 'production',
    PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LISTEN_IP: '127.0.0.1',
    RTC_PORT: '0',
    NUM_WORKERS: '2',
    LOG_LEVEL: 'warn',
    CLIENT_DIST: path.resolve('client/dist'),
    RATE_LIMIT_PER_SECOND: '1000',
  });
  const server = await startServer(config, createLogger(config.LOG_LEVEL, false));
  const browser = await launchChromium();
  const samples: Sample[] = [];
  const cycleFailures: string[] = [];
  const startedAt = Date.now();
  const endAt = startedAt + options.minutes * 60_000;
  let cycles = 0;

  const sample = async (): Promise<Sample> => {
    gc();
    const memory = process.memoryUsage();
    const entry: Sample = {
      t: Math.round((Date.now() - startedAt) / 1000),
      nodeRssMb: mb(memory.rss),
      heapUsedMb: mb(memory.heapUsed),
      workerRssMb: mb(server.pool.live.reduce((sum, { worker }) => sum + rssOf(worker.pid), 0)),
      counts: await countObjects(server),
    };
    samples.push(entry);
    const { counts } = entry;
    process.stdout.write(
      `${String(entry.t).padStart(5)} s  node rss ${entry.nodeRssMb} MB  heap ${entry.heapUsedMb} MB  workers rss ${entry.workerRssMb} MB  ` +
        `rooms ${counts.rooms} peers ${counts.peers} routers ${counts.routers} transports ${counts.transports} producers ${counts.producers} ` +
        `consumers ${counts.consumers} data ${counts.dataProducers}/${counts.dataConsumers} worker objects ${counts.workerObjects}\n`,
    );
    return entry;
  };

  try {
    const residents = [await join(browser, server.url, 'soak', 'Ana'), await join(browser, server.url, 'soak', 'Ben')];
    await Promise.all([decodes(residents[0]!, residents[1]!.id), decodes(residents[1]!, residents[0]!.id)]);
    await sleep(2000);
    const baseline = await countObjects(server);
    process.stdout.write(`baseline with the two residents: ${JSON.stringify(baseline)}\n`);
    let nextSample = 0;
    while (Date.now() < endAt) {
      if (Date.now() >= nextSample) {
        await sample();
        nextSample = Date.now() + options.sampleSeconds * 1000;
      }
      cycles++;
      await cycle(browser, server.url, cycles, residents).catch((error: unknown) =>
        cycleFailures.push(`cycle ${cycles}: ${(error as Error).message.split('\n')[0]}`),
      );
      // Back to the residents alone: every object the cycle made must be gone (give closing a moment).
      let counts = await countObjects(server);
      for (let wait = 0; wait < 40 && differences(baseline, counts).length > 0; wait++) {
        await sleep(250);
        counts = await countObjects(server);
      }
      const left = differences(baseline, counts);
      if (left.length > 0) cycleFailures.push(`after cycle ${cycles}: ${left.join(', ')}`);
    }
    await sample();
    await Promise.all(residents.map(leave));
  } finally {
    await browser.close();
    await server.close();
  }

  // Growth over the second half: the median of its first three samples against its last three.
  const secondHalf = samples.filter((entry) => entry.t >= (options.minutes * 60) / 2);
  const growth = (pick: (entry: Sample) => number): number | null => {
    if (secondHalf.length < 4) return null;
    const first = median(secondHalf.slice(0, 3).map(pick));
    const last = median(secondHalf.slice(-3).map(pick));
    return first > 0 ? (last - first) / first : null;
  };
  const growths = {
    nodeRss: growth((entry) => entry.nodeRssMb),
    heapUsed: growth((entry) => entry.heapUsedMb),
    workerRss: growth((entry) => entry.workerRssMb),
  };
  const tooMuch = Object.entries(growths).filter(([, value]) => value !== null && value > GROWTH_LIMIT);
  const pct = (value: number | null): string => (value === null ? 'n/a (run longer)' : `${(value * 100).toFixed(1)} %`);
  process.stdout.write(
    `\n${cycles} cycles in ${options.minutes} min; growth over the second half: node rss ${pct(growths.nodeRss)}, heap ${pct(growths.heapUsed)}, workers rss ${pct(growths.workerRss)} (limit ${GROWTH_LIMIT * 100} %)\n`,
  );
  for (const failure of cycleFailures) process.stdout.write(`  ${failure}\n`);
  mkdirSync(options.out, { recursive: true });
  writeFileSync(path.join(options.out, 'soak.json'), JSON.stringify({ options, cycles, growths, cycleFailures, samples }, null, 2));
  process.stdout.write(`Results: ${path.join(options.out, 'soak.json')}\n`);
  const passed = tooMuch.length === 0 && cycleFailures.length === 0;
  process.stdout.write(passed ? 'PASSED\n' : `FAILED${tooMuch.length ? `: ${tooMuch.map(([name]) => name).join(', ')} grew more than 5 %` : ''}\n`);
  return passed ? 0 : 1;
}
