import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { JOIN_MARK_PREFIX, type ConsumerMarkDetail, type JoinMilestone } from '../../../client/src/conference/joinMarks.js';
import { installProbe, type ProbeRecord } from '../../loadtest/probe.js';

/**
 * One newcomer, timed: a fresh browser context (no cached page) navigates to the room and waits
 * until every resident's camera has presented a frame in its `<video>` (the load-test probe's
 * requestVideoFrameCallback). Every time is milliseconds since the navigation started (the page's
 * `performance.timeOrigin`); the phases come from the marks the client sets (`joinMarks.ts`), so a
 * client built before them reports only the page load and the total.
 */

/** The moments of one join, in the order they happen; null when the client did not mark it. */
export interface Phases {
  /** The HTML arrived (navigation timing's responseEnd). */
  html: number | null;
  /** The scripts ran (DOMContentLoaded ended: the app's module is executed). */
  scripts: number | null;
  socketConnected: number | null;
  welcome: number | null;
  deviceLoaded: number | null;
  joinSent: number | null;
  joinAnswer: number | null;
  recvConnected: number | null;
  /** The first and the last residents' camera consumer made in the browser. */
  firstVideoConsumer: number | null;
  lastVideoConsumer: number | null;
  /** The first and the last residents' camera presenting a frame (the last is the total). */
  firstFrame: number | null;
  allFrames: number | null;
}

export interface NewcomerRun {
  /** Which client build (its label in --clients; 'server' for the one the server serves). */
  client: string;
  size: number;
  run: number;
  /** Time to all videos: null when it failed or did not happen within the step limit. */
  totalMs: number | null;
  error: string | null;
  phases: Phases;
}

interface PageReading {
  probe: ProbeRecord | null;
  navigation: { responseEnd: number; domContentLoadedEventEnd: number } | null;
  marks: { name: string; startTime: number; detail: unknown }[];
}

const EMPTY_PHASES: Phases = {
  html: null,
  scripts: null,
  socketConnected: null,
  welcome: null,
  deviceLoaded: null,
  joinSent: null,
  joinAnswer: null,
  recvConnected: null,
  firstVideoConsumer: null,
  lastVideoConsumer: null,
  firstFrame: null,
  allFrames: null,
};

/** Rejects when `work` takes longer than `ms`: no page step may hang the bench. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

const isVideoDetail = (detail: unknown): detail is ConsumerMarkDetail =>
  typeof detail === 'object' && detail !== null && 'kind' in detail && detail.kind === 'video' && 'source' in detail && detail.source === 'camera';

function phasesOf(reading: PageReading, residentIds: string[]): Phases {
  const first = (milestone: JoinMilestone): number | null => reading.marks.find((mark) => mark.name === `${JOIN_MARK_PREFIX}${milestone}`)?.startTime ?? null;
  const cameras = reading.marks.filter((mark) => mark.name === `${JOIN_MARK_PREFIX}consumerReady` && isVideoDetail(mark.detail)).map((mark) => mark.startTime);
  const frames = residentIds.map((id) => reading.probe?.firstFrames[id]).filter((time): time is number => time !== undefined);
  return {
    html: reading.navigation?.responseEnd ?? null,
    scripts: reading.navigation?.domContentLoadedEventEnd ?? null,
    socketConnected: first('socketConnected'),
    welcome: first('welcome'),
    deviceLoaded: first('deviceLoaded'),
    joinSent: first('joinSent'),
    joinAnswer: first('joinAnswer'),
    recvConnected: first('recvConnected'),
    firstVideoConsumer: cameras.length ? Math.min(...cameras) : null,
    lastVideoConsumer: cameras.length ? Math.max(...cameras) : null,
    firstFrame: frames.length ? Math.min(...frames) : null,
    allFrames: frames.length === residentIds.length ? Math.max(...frames) : null,
  };
}

export interface NewcomerPlan {
  url: string;
  room: string;
  name: string;
  /** The residents whose cameras must all be seen. */
  residentIds: string[];
  /** Publishes camera and microphone as people do (otherwise joins with cam=0&mic=0). */
  publish: boolean;
  viewport: { width: number; height: number };
  /** The limit of each page step (load, all videos, leave). */
  stepMs: number;
  /** The client build to load, and its label; absent: the server's own. */
  client?: { label: string; dist: string };
}

/**
 * Serves the page and its files from another client build at the server's own origin (so its
 * socket and every request of the app stay the same): a before/after comparison in one run, its
 * newcomers taking turns, so the machine's ups and downs fall on both alike.
 */
async function serveClient(context: BrowserContext, origin: string, dist: string): Promise<void> {
  const root = path.resolve(dist);
  await context.route(
    (url) => url.origin === origin && !url.pathname.startsWith('/socket.io/'),
    async (route) => {
      const { pathname } = new URL(route.request().url());
      // The page keeps the server's own response (its headers), with the other build's HTML.
      if (pathname === '/') return route.fulfill({ response: await route.fetch(), body: readFileSync(path.join(root, 'index.html'), 'utf8') });
      const file = path.join(root, path.normalize(decodeURIComponent(pathname)));
      if (!file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) return route.continue();
      return route.fulfill({ path: file });
    },
  );
}

/** Times one newcomer; it leaves and its context closes whatever happened. Never throws. */
export async function timeNewcomer(browser: Browser, plan: NewcomerPlan, size: number, run: number): Promise<NewcomerRun> {
  const context = await browser.newContext({ viewport: plan.viewport });
  let reading: PageReading = { probe: null, navigation: null, marks: [] };
  let error: string | null = null;
  try {
    await context.addInitScript(installProbe);
    if (plan.client) await serveClient(context, new URL(plan.url).origin, plan.client.dist);
    const page = await context.newPage();
    const query = new URLSearchParams({ room: plan.room, name: plan.name, ...(plan.publish ? {} : { cam: '0', mic: '0' }) });
    try {
      // 'commit': the clock is the page's own (navigation start); playwright's load wait adds nothing.
      await page.goto(`${plan.url}/?${query.toString()}`, { waitUntil: 'commit', timeout: plan.stepMs });
      await page.waitForFunction(
        (ids) => {
          const probe = window.__loadtestProbe;
          return probe && (probe.joinError !== null || ids.every((id) => probe.firstFrames[id] !== undefined));
        },
        plan.residentIds,
        { timeout: plan.stepMs, polling: 50 },
      );
    } catch (failure) {
      error = failure instanceof Error ? failure.message.split('\n')[0]! : String(failure);
    }
    reading = await within(
      plan.stepMs,
      'reading the page',
      page.evaluate((prefix) => {
        const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
        return {
          probe: window.__loadtestProbe ?? null,
          navigation: navigation ? { responseEnd: navigation.responseEnd, domContentLoadedEventEnd: navigation.domContentLoadedEventEnd } : null,
          marks: performance
            .getEntriesByType('mark')
            .filter((mark) => mark.name.startsWith(prefix))
            .map((mark) => ({ name: mark.name, startTime: mark.startTime, detail: (mark as PerformanceMark).detail as unknown })),
        };
      }, JOIN_MARK_PREFIX),
    ).catch((failure: unknown) => {
      error ??= failure instanceof Error ? failure.message.split('\n')[0]! : String(failure);
      return reading;
    });
    error ??= reading.probe?.joinError ?? null;
    // Leave politely so the server frees the place at once; the next newcomer meets the same room.
    await within(
      plan.stepMs,
      'leaving',
      page.evaluate(() => window.conclave?.leave()),
    ).catch(() => undefined);
  } finally {
    await within(plan.stepMs, 'closing the page', context.close()).catch(() => undefined);
  }
  const phases = reading.probe ? phasesOf(reading, plan.residentIds) : EMPTY_PHASES;
  return { client: plan.client?.label ?? 'server', size, run, totalMs: error === null ? phases.allFrames : null, error, phases };
}
