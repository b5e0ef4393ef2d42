import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import type { ConclaveAutomation } from '../../client/src/automation.js';
import type { ConferenceSnapshot, ConferenceStats } from '../../client/src/conference/types.js';

/** Debian's Firefox ESR; Playwright cannot drive it (it needs its own patched build), puppeteer-core can. */
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/**
 * Preferences verified on these machines (see /work/shared/NOTES.md): the fake camera (a moving
 * pattern) and microphone (a tone) granted without a prompt, media playing without a gesture.
 * There is none for the screen: Firefox only fakes cameras and microphones, and headless it has no
 * screen to capture, so getDisplayMedia answers NotFoundError.
 */
export const FIREFOX_PREFS: Record<string, unknown> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
};

/**
 * Headless Firefox over WebDriver BiDi, in a fresh temporary profile that puppeteer deletes on
 * `close()`. One per test file: it takes a few seconds to start on a busy machine.
 */
export function launchFirefox(): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
    // A machine running two browser suites at once can be slow to answer the first command.
    protocolTimeout: 120_000,
    timeout: 120_000,
  });
}

export interface FirefoxParticipant {
  name: string;
  context: BrowserContext;
  page: Page;
  state(): Promise<ConferenceSnapshot>;
  stats(): Promise<ConferenceStats>;
  call<K extends 'setMic' | 'setCam' | 'shareScreen' | 'stopScreen' | 'leave'>(method: K, ...args: Parameters<ConclaveAutomation[K]>): Promise<void>;
  /** Sends a chat message over the data channel once the channels are open. */
  chat(text: string): Promise<void>;
  /** The chat as this participant sees it: sender names and texts, oldest first. */
  chatTexts(): Promise<{ from: string; text: string }[]>;
  /** Leaves the room as the Leave button does, then closes the page's context. */
  leaveAndClose(): Promise<void>;
}

export interface FirefoxOpenOptions {
  /** Extra query parameters (cam=0, mic=0…). */
  query?: Record<string, string>;
  viewport?: { width: number; height: number };
}

/** Opens the app as a new person (own browser context, so own cookies and storage) and waits until joined. */
export async function openFirefoxParticipant(
  browser: Browser,
  baseUrl: string,
  room: string,
  name: string,
  options: FirefoxOpenOptions = {},
): Promise<FirefoxParticipant> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await setFirefoxViewport(page, options.viewport ?? { width: 1280, height: 720 });
  const query = new URLSearchParams({ room, name, ...options.query });
  await page.goto(`${baseUrl}/?${query.toString()}`, { timeout: 90_000 });
  await page.waitForFunction(() => window.conclave !== undefined, { timeout: 60_000 });
  await page.evaluate(() => window.conclave!.ready);
  const participant: FirefoxParticipant = {
    name,
    context,
    page,
    state: () => page.evaluate(() => window.conclave!.state()),
    stats: () => page.evaluate(() => window.conclave!.stats()),
    call: async (method, ...args) => {
      await page.evaluate((m, a) => (window.conclave![m] as (...x: unknown[]) => Promise<void>)(...a), method, args);
    },
    chat: async (text) => {
      await page.evaluate(async (message) => {
        await window.conclave!.dataReady();
        await window.conclave!.chat.send(message);
      }, text);
    },
    chatTexts: () => page.evaluate(() => window.conclave!.chat.messages().map((message) => ({ from: message.name, text: message.text }))),
    leaveAndClose: async () => {
      if (!page.isClosed()) await participant.call('leave');
      await context.close();
    },
  };
  return participant;
}

/**
 * Starts counting the frames each remote `source` `<video>` of `peerIds` presents on screen
 * (`requestVideoFrameCallback`: Firefox leaves getVideoPlaybackQuality() at 0 for WebRTC video);
 * returns a reader of the counts.
 */
export async function countPresentedFrames(
  page: Page,
  peerIds: string[],
  source: 'camera' | 'screen' = 'camera',
): Promise<() => Promise<Record<string, number>>> {
  const key = `__presented_${source}`;
  await page.evaluate(
    (ids, kind, slot) => {
      const counts: Record<string, number> = {};
      (window as unknown as Record<string, unknown>)[slot] = counts;
      for (const id of ids) {
        const video = document.querySelector<HTMLVideoElement>(`[data-peer-id="${id}"][data-kind="${kind}"] video`);
        if (!video) throw new Error(`no ${kind} <video> of ${id}`);
        counts[id] = 0;
        const onFrame = (): void => {
          counts[id] = (counts[id] ?? 0) + 1;
          video.requestVideoFrameCallback(onFrame);
        };
        video.requestVideoFrameCallback(onFrame);
      }
    },
    peerIds,
    source,
    key,
  );
  return () => page.evaluate((slot) => ({ ...((window as unknown as Record<string, Record<string, number>>)[slot] ?? {}) }), key);
}

/** What a puppeteer page driven over WebDriver BiDi holds: its browsing context (puppeteer-core's BidiFrame). */
interface BidiFrameLike {
  browsingContext?: { setViewport(options: { viewport: { width: number; height: number } | null }): Promise<void> };
}

/**
 * Sizes the page with BiDi's browsingContext.setViewport alone. puppeteer-core 25.16's setViewport
 * sends emulation.setScreenOrientationOverride beside it, which Firefox 140 ESR does not know
 * ("unknown command"), and then the size is not applied either; the size is checked from the page.
 */
export async function setFirefoxViewport(page: Page, viewport: { width: number; height: number }): Promise<void> {
  const context = (page.mainFrame() as unknown as BidiFrameLike).browsingContext;
  if (!context) throw new Error('the Firefox page is not driven over WebDriver BiDi');
  await context.setViewport({ viewport });
  const size = await page.evaluate(() => ({ width: window.innerWidth, height: window.innerHeight }));
  if (size.width !== viewport.width || size.height !== viewport.height) {
    throw new Error(`Firefox page is ${size.width}×${size.height}, not the ${viewport.width}×${viewport.height} asked for`);
  }
}
