import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from '../helpers/axe.js';
import { launchChromium, leaveAndClose, openParticipant, type ParticipantPage } from '../helpers/browser.js';
import { CLIENT_DIST, eventually, useServer } from '../helpers/server.js';

/**
 * Accessibility as a person with a screen reader or a keyboard meets it: axe-core (WCAG 2.1 A/AA)
 * finds nothing serious on each view, the toolbar works from the keyboard with a visible focus, and
 * joins and leaves are announced politely.
 */
describe('accessibility', { timeout: 180_000 }, () => {
  const server = useServer({ CLIENT_DIST });
  let browser: Browser;
  let ana: ParticipantPage;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    if (ana) await leaveAndClose(ana);
    await browser?.close();
  });

  it('has no serious violations on the pre-join screen and the pre-call check', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.locator('form button[type="submit"]').waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.goto(`${server.url}/check`);
    await page.locator('main.check [data-action="start"]').waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    // Run it and check the results, the verdict and the report as well.
    await page.click('main.check [data-action="start"]');
    await page.waitForSelector('main.check[data-state="done"]', { timeout: 90_000 });
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  });

  it('has no serious violations in the call, the chat, the participants panel and the connection panel', async () => {
    ana = await openParticipant(browser, server.url, 'a11y', 'Ana');
    const ben = await openParticipant(browser, server.url, 'a11y', 'Ben');
    await eventually(async () => (await ana.state()).participants.length === 1, { what: 'Ben in Ana’s call' });
    expect(await seriousViolations(ana.page)).toEqual([]);
    for (const panel of ['chat', 'participants', 'stats']) {
      await ana.page.click(`[data-action="${panel}"]`);
      expect(await seriousViolations(ana.page), panel).toEqual([]);
      await ana.page.click(`[data-action="${panel}"]`);
    }
    await leaveAndClose(ben);
  });

  it('announces joins and leaves politely, without moving focus', async () => {
    const announcer = ana.page.locator('[data-announcer]');
    expect(await announcer.getAttribute('aria-live')).toBe('polite');
    const cy = await openParticipant(browser, server.url, 'a11y', 'Cy');
    await eventually(async () => ((await announcer.textContent()) ?? '').includes('Cy joined'), { what: 'Cy’s join announced' });
    // Cy is not told that everyone already there "joined": only what happens after her arrival is news.
    await eventually(async () => (await cy.state()).participants.length === 1, { what: 'Ana in Cy’s call' });
    expect(await cy.page.locator('[data-announcer]').textContent()).toBe('');
    await leaveAndClose(cy);
    await eventually(async () => ((await announcer.textContent()) ?? '').includes('Cy left'), { what: 'Cy’s leave announced' });
  });

  it('works the toolbar from the keyboard, with a visible focus', async () => {
    const mic = ana.page.locator('[data-action="mic"]');
    const before = await mic.getAttribute('aria-pressed');
    await ana.page.locator('body').click({ position: { x: 5, y: 5 } });
    // Tab until the microphone button has the focus (it is in the tab order, in a sensible place).
    let focused = '';
    for (let presses = 0; presses < 40 && focused !== 'mic'; presses += 1) {
      await ana.page.keyboard.press('Tab');
      focused = await ana.page.evaluate(() => document.activeElement?.getAttribute('data-action') ?? '');
    }
    expect(focused).toBe('mic');
    const outline = await mic.evaluate((element) => getComputedStyle(element).outlineStyle);
    expect(outline).not.toBe('none');
    await ana.page.keyboard.press('Enter');
    await eventually(async () => (await mic.getAttribute('aria-pressed')) !== before, { what: 'the microphone toggled from the keyboard' });
    await ana.page.keyboard.press('Space');
    await eventually(async () => (await mic.getAttribute('aria-pressed')) === before, { what: 'and back' });
  });
});
