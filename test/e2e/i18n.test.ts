// Over ~350 lines on purpose: one walk through every view in Simplified Chinese, with the helpers that
// find English left in them.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogues, LANGUAGE_NAMES, LANGUAGES } from '../../client/src/i18n/i18n.js';
import { launchChromium, leaveAndClose, openParticipant, waitForVideoFrom, type ParticipantPage } from '../helpers/browser.js';
import { CLIENT_DIST, useServer } from '../helpers/server.js';

/**
 * The whole interface in Simplified Chinese: a person who opens Conclave with `?lang=zh-CN` walks
 * through every view there is (pre-join, the pre-call check, the call with its menus, the
 * connection panel, chat, whiteboard, moderation, the lobby, the end screens) and reads no
 * English, except for what is no language: names people chose, protocol and brand terms, the
 * browser's own words (device names, user agent). Switching the language in the call changes the
 * page at once, without a reload.
 */

// ---- what may stay in Latin letters ----

const ROOM = 'zh-walk';
const NAMES = { host: 'Ana', guest: 'Ben', knocker: 'Cy' } as const;
const CHAT_TEXT = '大家好，资料在这里';
const FILE_NAME = 'notes.txt';
/** Protocol, brand and unit terms that are the same in every language. */
const TERMS = [
  ...['Conclave', 'WebRTC', 'UDP', 'TCP', 'TURN', 'STUN', 'ICE', 'DTLS', 'SRTP', 'RTT', 'SFU', 'JSON', 'VP8', 'VP9', 'H264', 'AV1', 'Opus'],
  // ICE candidate types (RFC 8445), as a connection's route is written: host/UDP, relay/TCP.
  ...['host', 'srflx', 'prflx', 'relay'],
  ...['kbit', 'Mbit', 'kb', 'Mb', 'fps', 'ms', 's', 'B', 'kB', 'KB', 'MB', 'GB', 'dB', 'dBFS', 'x'],
];

const LATIN_WORD = /[A-Za-z]+/g;
const latinWords = (text: string): string[] => text.match(LATIN_WORD) ?? [];

/** Latin words the Chinese catalogue itself uses (brand and protocol terms), placeholders left out. */
const CATALOGUE_WORDS = new Set(Object.values(catalogues['zh-CN']).flatMap((message) => latinWords(message.replace(/\{\w+\}/g, ' '))));
const ALLOWED = new Set([
  ...CATALOGUE_WORDS,
  ...TERMS.flatMap(latinWords),
  ...Object.values(NAMES),
  // Avatars show a name's initials.
  ...Object.values(NAMES).map((name) => name.charAt(0).toUpperCase()),
  ...latinWords(ROOM),
  ...latinWords(FILE_NAME),
  // The language picker names each language in itself; a report gives its tag.
  ...Object.values(LANGUAGE_NAMES).flatMap(latinWords),
  ...LANGUAGES.flatMap(latinWords),
]);

interface Shown {
  /** Where the text is: `text`, or the attribute it is in. */
  where: string;
  text: string;
}

/**
 * Every text a person can see or hear in the page now: visible text nodes, and the aria-label,
 * title, placeholder and alt of visible elements, and the document's title. Runs in the page.
 */
function collectShown(): Shown[] {
  const shown: Shown[] = [];
  const visible = (element: Element | null): boolean => {
    if (!element) return false;
    // A closed select's options have no box of their own: they are seen when the select is.
    if (element instanceof HTMLOptionElement || element instanceof HTMLOptGroupElement) return visible(element.closest('select'));
    return element.checkVisibility({ checkVisibilityCSS: true });
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent?.trim() ?? '';
    const parent = node.parentElement;
    if (text === '' || !parent || parent.closest('script, style, noscript') || !visible(parent)) continue;
    shown.push({ where: `<${parent.tagName.toLowerCase()}${parent.className ? `.${String(parent.className).split(' ')[0]}` : ''}>`, text });
  }
  for (const element of document.body.querySelectorAll('*')) {
    if (!visible(element)) continue;
    for (const attribute of ['aria-label', 'title', 'placeholder', 'alt', 'aria-valuetext']) {
      const text = element.getAttribute(attribute)?.trim();
      if (text) shown.push({ where: `${element.tagName.toLowerCase()}[${attribute}]`, text });
    }
    if (element instanceof HTMLInputElement && ['button', 'submit', 'reset'].includes(element.type) && element.value) {
      shown.push({ where: 'input[value]', text: element.value });
    }
  }
  if (document.title) shown.push({ where: 'document.title', text: document.title });
  return shown;
}

/**
 * The browser's own words, not ours: the names it gives its devices (the fake camera and
 * microphone), its user agent and the page's address (both of which a check report quotes).
 */
async function browserWords(page: Page): Promise<Set<string>> {
  const texts = await page.evaluate(async () => [
    navigator.userAgent,
    location.href,
    ...(navigator.mediaDevices ? (await navigator.mediaDevices.enumerateDevices()).map((device) => device.label) : []),
  ]);
  return new Set(texts.flatMap(latinWords));
}

/** Fails, listing them, when any shown text still has an English word in it. */
async function expectNoEnglish(page: Page, view: string): Promise<void> {
  const browserOwn = await browserWords(page);
  const shown = await page.evaluate(collectShown);
  expect(
    shown.some((item) => /\p{Script=Han}/u.test(item.text)),
    `${view}: no Chinese shown`,
  ).toBe(true);
  const english = shown
    .map((item) => ({ ...item, words: latinWords(item.text).filter((word) => !ALLOWED.has(word) && !browserOwn.has(word)) }))
    .filter((item) => item.words.length > 0);
  const report = english.map((item) => `  ${item.where}: "${item.text}" (${item.words.join(', ')})`).join('\n');
  expect(english, `${view} shows English:\n${report}`).toEqual([]);
}

// ---- the people and the walk ----

interface Cast {
  host: ParticipantPage;
  guest: ParticipantPage;
  guestId: string;
  knocker?: ParticipantPage;
  /** The pre-join screen opened on its own, as someone not in the call yet. */
  prejoin?: { context: BrowserContext; page: Page };
}

/** One view a person can open: `show` brings it up and returns the page it is on. */
interface View {
  name: string;
  show(cast: Cast): Promise<Page>;
}

const visibleNow = (page: Page, selector: string) => page.locator(selector).first().isVisible();

async function openPanel(page: Page, action: string, panel: string): Promise<void> {
  if (!(await visibleNow(page, panel))) await page.click(`[data-action="${action}"]`);
  await expect.poll(() => visibleNow(page, panel)).toBe(true);
}

async function closePanel(page: Page, action: string, panel: string): Promise<void> {
  if (await visibleNow(page, panel)) await page.click(`[data-action="${action}"]`);
  await expect.poll(() => visibleNow(page, panel)).toBe(false);
}

/** As a host does it: the guest's menu in the participants panel, then one of its actions. */
async function act(cast: Cast, action: string): Promise<void> {
  const page = cast.host.page;
  await openPanel(page, 'participants', '[data-participants-panel]');
  const row = page.locator(`li[data-participant][data-peer-id="${cast.guestId}"]`);
  if (!(await row.locator('[data-participant-menu]').isVisible())) await row.locator('[data-action="participant-menu"]').click();
  await row.locator(`[data-participant-action="${action}"]`).click();
}

/**
 * Every view, in the order a meeting goes through them. A new view (a pre-call check page, a
 * connection panel) is one more entry here.
 */
const VIEWS: View[] = [
  {
    name: 'the pre-join screen',
    async show(cast) {
      const context = await browser.newContext();
      const page = await context.newPage();
      cast.prejoin = { context, page };
      await page.goto(`${server.url}/?lang=zh-CN`, { timeout: 90_000 });
      await page.locator('form.prejoin-form').waitFor();
      // The device pickers are filled once the preview started.
      await expect.poll(() => page.locator('select[name="camera"] option').count(), { timeout: 20_000 }).toBeGreaterThan(0);
      return page;
    },
  },
  {
    name: 'the pre-call check, run to its verdict and report',
    async show({ prejoin }) {
      const page = prejoin!.page;
      await page.click('a.check-link');
      await page.locator('main.check').waitFor({ timeout: 30_000 });
      await page.click('[data-action="start"]');
      await page.waitForSelector('main.check[data-state="done"]', { timeout: 90_000 });
      return page;
    },
  },
  {
    name: 'the call: toolbar and tiles',
    async show({ host }) {
      await host.page.locator(`.tile[data-kind="camera"]`).nth(1).waitFor();
      return host.page;
    },
  },
  {
    name: 'the reactions menu, with a hand raised',
    async show({ host }) {
      await host.page.click('[data-action="hand"]');
      await expect.poll(() => host.page.locator('[data-action="hand"]').getAttribute('aria-pressed')).toBe('true');
      await host.page.click('[data-action="reactions"]');
      await expect.poll(() => visibleNow(host.page, '[data-reaction-picker]')).toBe(true);
      return host.page;
    },
  },
  {
    name: 'the speaker layout',
    async show({ host }) {
      await host.page.click('[data-action="reactions"]');
      await host.page.click('[data-action="layout"]');
      await expect.poll(() => host.page.locator('[data-action="layout"]').getAttribute('aria-pressed')).toBe('true');
      return host.page;
    },
  },
  {
    name: 'the statistics and the connection panel',
    async show({ host }) {
      await host.page.click('[data-action="layout"]');
      await host.page.click('[data-action="stats"]');
      // Statistics are sampled: wait for the first figures on the tiles, and the session's timeline.
      await expect.poll(() => host.page.locator('.tile-stats:not([hidden])').count(), { timeout: 10_000 }).toBeGreaterThan(0);
      await expect.poll(() => visibleNow(host.page, '[data-connection-panel]')).toBe(true);
      await expect.poll(() => host.page.locator('[data-timeline] li').count(), { timeout: 10_000 }).toBeGreaterThan(0);
      return host.page;
    },
  },
  {
    name: 'the toolbar with unread chat',
    async show({ host, guest }) {
      await host.page.click('[data-action="stats"]');
      await guest.page.evaluate((text) => window.conclave!.chat.send(text), CHAT_TEXT);
      await expect.poll(() => host.page.locator('[data-unread]').getAttribute('data-unread')).toBe('1');
      return host.page;
    },
  },
  {
    name: 'the chat panel, with a message and a file',
    async show({ host, guest }) {
      const bytes = Array.from(new TextEncoder().encode('会议记录\n'));
      await guest.page.evaluate(([name, data]) => window.conclave!.sendFile({ name, bytes: new Uint8Array(data) }), [FILE_NAME, bytes] as const);
      await openPanel(host.page, 'chat', '[data-chat-panel]');
      await host.page.fill('[data-chat-input]', '收到');
      await host.page.click('[data-action="chat-send"]');
      await expect.poll(() => host.page.locator('li[data-chat-message][data-own]').count()).toBe(1);
      await expect.poll(() => host.page.locator('li[data-file-id]').getAttribute('data-file-state'), { timeout: 10_000 }).toBe('complete');
      return host.page;
    },
  },
  {
    name: 'the whiteboard',
    async show({ host }) {
      await closePanel(host.page, 'chat', '[data-chat-panel]');
      await openPanel(host.page, 'whiteboard', '[data-whiteboard]');
      return host.page;
    },
  },
  {
    name: 'the participants panel with the moderation menu',
    async show(cast) {
      const page = cast.host.page;
      await closePanel(page, 'whiteboard', '[data-whiteboard]');
      await openPanel(page, 'participants', '[data-participants-panel]');
      await page.locator(`li[data-peer-id="${cast.guestId}"] [data-action="participant-menu"]`).click();
      await page.locator('[data-participant-menu]').waitFor();
      await page.locator('[data-meeting-controls] details.permissions summary').click();
      return page;
    },
  },
  {
    name: 'what the guest is told: muted, asked to unmute, made a moderator',
    async show(cast) {
      const page = cast.guest.page;
      await act(cast, 'muteMic');
      await expect.poll(() => page.locator('.toast').count(), { timeout: 10_000 }).toBeGreaterThan(0);
      await act(cast, 'askToUnmute');
      await expect.poll(() => visibleNow(page, '[data-unmute-prompt]'), { timeout: 10_000 }).toBe(true);
      await act(cast, 'makeModerator');
      await expect.poll(async () => (await cast.guest.state()).role, { timeout: 10_000 }).toBe('moderator');
      // Their own message and file, as the sender sees them; and the panel a moderator gets.
      await openPanel(page, 'chat', '[data-chat-panel]');
      await expect.poll(() => page.locator('li[data-file-id]').getAttribute('data-file-state')).toBe('complete');
      await openPanel(page, 'participants', '[data-participants-panel]');
      return page;
    },
  },
  {
    name: 'the lobby, for the one who waits',
    async show(cast) {
      const page = cast.host.page;
      await openPanel(page, 'participants', '[data-participants-panel]');
      await page.click('[data-action="lock"]');
      await expect.poll(async () => (await cast.host.state()).policy?.locked).toBe(true);
      cast.knocker = await openParticipant(browser, server.url, ROOM, NAMES.knocker, { query: { lang: 'zh-CN', cam: '0', mic: '0' }, waitUntilJoined: false });
      await expect.poll(() => visibleNow(cast.knocker!.page, '[data-lobby-view]'), { timeout: 20_000 }).toBe(true);
      return cast.knocker.page;
    },
  },
  {
    name: 'the lobby, for the host: who knocks, and the meeting locked',
    async show({ host }) {
      await expect.poll(() => host.page.locator('[data-waiting-count]').getAttribute('data-waiting-count'), { timeout: 10_000 }).toBe('1');
      await expect.poll(() => visibleNow(host.page, 'li[data-knock]')).toBe(true);
      return host.page;
    },
  },
  {
    name: 'the end screen, turned away from the lobby',
    async show({ host, knocker }) {
      await host.page.locator('li[data-knock] [data-action="deny"]').click();
      await expect.poll(() => knocker!.page.locator('[data-ended]').getAttribute('data-reason'), { timeout: 10_000 }).toBe('denied');
      return knocker!.page;
    },
  },
  {
    name: 'the end screen after leaving',
    async show({ guest }) {
      await guest.page.click('[data-action="leave"]');
      await expect.poll(() => guest.page.locator('[data-ended]').count(), { timeout: 10_000 }).toBe(1);
      return guest.page;
    },
  },
  {
    name: 'the end screen when the host ends the meeting',
    async show({ host }) {
      await openPanel(host.page, 'participants', '[data-participants-panel]');
      await host.page.click('[data-action="end-meeting"]');
      await host.page.click('[data-action="end-confirm"]');
      await expect.poll(() => host.page.locator('[data-ended]').getAttribute('data-reason'), { timeout: 10_000 }).toBe('ended');
      return host.page;
    },
  },
];

const server = useServer({ CLIENT_DIST });
let browser: Browser;

// Three pages on a loaded two-core machine: each load can take 20 s.
describe('the interface in Simplified Chinese', { timeout: 120_000 }, () => {
  let cast: Cast;

  beforeAll(async () => {
    browser = await launchChromium();
    const query = { lang: 'zh-CN' };
    const host = await openParticipant(browser, server.url, ROOM, NAMES.host, { query: { ...query, mic: '0' } });
    const guest = await openParticipant(browser, server.url, ROOM, NAMES.guest, { query });
    const guestId = (await guest.state()).self!.id;
    await waitForVideoFrom(host, [guestId]);
    cast = { host, guest, guestId };
  }, 180_000);

  afterAll(async () => {
    for (const participant of [cast?.host, cast?.guest, cast?.knocker]) if (participant) await leaveAndClose(participant).catch(() => undefined);
    await cast?.prejoin?.context.close();
    await browser?.close();
  });

  it('switches between English and Chinese in the call without a reload', async () => {
    const page = cast.host.page;
    const toolbarNames = () =>
      page.locator('[role="toolbar"] button[data-action]:visible').evaluateAll((buttons) => buttons.map((button) => button.getAttribute('aria-label') ?? ''));
    const ours = () => page.locator('[role="toolbar"] [data-action="participants"]').getAttribute('aria-label');
    const picker = page.locator('select.language-picker:visible');
    expect(await picker.count(), 'a language picker in the call').toBe(1);
    const switchTo = (language: 'en' | 'zh-CN') => picker.selectOption(language);
    await page.evaluate(() => ((window as { i18nMarker?: string }).i18nMarker = 'same page'));
    const chinese = await toolbarNames();
    expect(chinese.length).toBeGreaterThan(5);
    expect(await ours()).toBe(catalogues['zh-CN']['meeting.participants']);

    await switchTo('en');
    await expect.poll(ours).toBe(catalogues.en['meeting.participants']);
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    // The walk's check sees English when there is some (it is not blind to it).
    const shownInEnglish = await page.evaluate(collectShown);
    expect(shownInEnglish.some((item) => latinWords(item.text).some((word) => !ALLOWED.has(word)))).toBe(true);
    const english = await toolbarNames();
    expect(english).toHaveLength(chinese.length);
    for (const [index, name] of english.entries()) {
      expect(name, `toolbar button ${index} in English`).not.toBe(chinese[index]);
      expect(latinWords(name).length, `"${name}" reads as English`).toBeGreaterThan(0);
    }

    await switchTo('zh-CN');
    await expect.poll(ours).toBe(catalogues['zh-CN']['meeting.participants']);
    expect(await toolbarNames()).toEqual(chinese);
    expect(await page.evaluate(() => (window as { i18nMarker?: string }).i18nMarker)).toBe('same page');
  });

  for (const view of VIEWS) {
    it(`${view.name}: no English left`, async () => {
      const page = await view.show(cast);
      await expectNoEnglish(page, view.name);
    });
  }
});
