import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { launchChromium, leaveAndClose, openParticipant, waitForVideoFrom, type OpenOptions, type ParticipantPage } from '../helpers/browser.js';
import { CLIENT_DIST, useServer } from '../helpers/server.js';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * Running a meeting, seen through real Chromium pages against a real server: the first person in
 * a room is its host; hosts mute, remove and let people in from the lobby; everyone raises hands
 * and reacts; a participant cannot do what only hosts and moderators may.
 */
// Every case opens two to four pages of its own: on a loaded two-core machine each load can take 20 s.
describe('running a meeting in the browser', { timeout: 120_000 }, () => {
  const server = useServer({ CLIENT_DIST });
  let browser: Browser;
  let rooms = 0;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  interface Person {
    page: ParticipantPage;
    id: string;
  }

  /**
   * A room of the case's own: `arrive` opens the app as someone who joins it, `knock` as someone
   * who will wait in its lobby; everyone leaves when the case ends.
   */
  function gathering(label: string) {
    rooms += 1;
    const room = `${label}-${rooms}`;
    const present: ParticipantPage[] = [];
    onTestFinished(() => Promise.all(present.map((participant) => leaveAndClose(participant).catch(() => undefined))).then(() => undefined));
    const open = async (name: string, options: OpenOptions): Promise<ParticipantPage> => {
      const page = await openParticipant(browser, server.url, room, name, options);
      present.push(page);
      return page;
    };
    const arrive = async (name: string, options: OpenOptions = {}): Promise<Person> => {
      const page = await open(name, options);
      const self = (await page.state()).self;
      if (!self) throw new Error(`${name} has not joined`);
      return { page, id: self.id };
    };
    const knock = (name: string, options: OpenOptions = {}): Promise<ParticipantPage> => open(name, { ...options, waitUntilJoined: false });
    return { room, arrive, knock };
  }

  /** Camera and microphone off: people who only look. */
  const watching = { query: { cam: '0', mic: '0' } };
  const micOnly = { query: { cam: '0' } };
  const cameraOnly = { query: { mic: '0' } };

  const tile = (viewer: ParticipantPage, peerId: string) => viewer.page.locator(`[data-peer-id="${peerId}"][data-kind="camera"]`);
  const micOffShown = (viewer: ParticipantPage, peerId: string) => tile(viewer, peerId).locator('.mic-off:not([hidden])').count();
  const row = (viewer: ParticipantPage, peerId: string) => viewer.page.locator(`li[data-participant][data-peer-id="${peerId}"]`);

  /** Opens the participants panel and picks an action from someone's menu, as a host would. */
  async function act(viewer: ParticipantPage, peerId: string, action: string): Promise<void> {
    const panel = viewer.page.locator('[data-participants-panel]');
    if (!(await panel.isVisible())) await viewer.page.click('[data-action="participants"]');
    await row(viewer, peerId).locator('[data-action="participant-menu"]').click();
    await row(viewer, peerId).locator(`[data-participant-action="${action}"]`).click();
  }

  it('a host mutes a participant: everyone sees the microphone off, and the participant unmutes themself', async () => {
    const { arrive } = gathering('mute');
    const ana = await arrive('Ana', watching);
    const [ben, cy] = await Promise.all([arrive('Ben', micOnly), arrive('Cy', watching)]);
    expect((await ana.page.state()).role).toBe('host');
    expect((await ben.page.state()).role).toBe('participant');
    await expect.poll(() => micOffShown(ana.page, ben.id), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => micOffShown(cy.page, ben.id), { timeout: 15_000 }).toBe(0);

    await act(ana.page, ben.id, 'muteMic');
    await expect.poll(() => micOffShown(ana.page, ben.id), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => micOffShown(cy.page, ben.id), { timeout: 10_000 }).toBe(1);
    // Ben's own toolbar and tile say so, and he is told who did it.
    const benMic = ben.page.page.locator('[data-action="mic"]');
    await expect.poll(() => benMic.getAttribute('aria-pressed')).toBe('false');
    expect(await benMic.getAttribute('class')).toContain('off');
    expect(await micOffShown(ben.page, ben.id)).toBe(1);
    await expect.poll(() => ben.page.page.locator('.toast').filter({ hasText: 'Ana muted your microphone' }).count()).toBe(1);
    expect(await row(ana.page, ben.id).getAttribute('data-mic')).toBe('off');

    // Ana can only ask; Ben turns it on again with his own button.
    await act(ana.page, ben.id, 'askToUnmute');
    const prompt = ben.page.page.locator('[data-unmute-prompt]');
    await expect.poll(() => prompt.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await prompt.textContent()).toContain('Ana asks you to unmute');
    expect(await micOffShown(ana.page, ben.id)).toBe(1);
    await benMic.click();
    await expect.poll(() => prompt.isVisible()).toBe(false);
    await expect.poll(() => micOffShown(ana.page, ben.id), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => micOffShown(cy.page, ben.id), { timeout: 10_000 }).toBe(0);
    expect((await ben.page.state()).producers.find((producer) => producer.source === 'mic')?.paused).toBe(false);
  });

  it('a host removes a participant: their tile goes everywhere, their page says so, and they stay out', async () => {
    const { arrive } = gathering('remove');
    const ana = await arrive('Ana', watching);
    const [ben, cy] = await Promise.all([arrive('Ben', watching), arrive('Cy', watching)]);
    await expect.poll(() => tile(ana.page, ben.id).count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => tile(cy.page, ben.id).count(), { timeout: 15_000 }).toBe(1);

    await act(ana.page, ben.id, 'remove');
    await expect.poll(() => tile(ana.page, ben.id).count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => tile(cy.page, ben.id).count(), { timeout: 10_000 }).toBe(0);
    const ended = ben.page.page.locator('[data-ended]');
    await expect.poll(() => ended.getAttribute('data-reason'), { timeout: 10_000 }).toBe('removed');
    expect(await ended.locator('h1').textContent()).toMatch(/removed/i);

    // No reconnect brings him back: an absence, so a window to watch rather than an event to await
    // (a loaded machine can only make a comeback later, i.e. let this pass wrongly, never fail it wrongly).
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(await tile(ana.page, ben.id).count()).toBe(0);
    expect(await tile(cy.page, ben.id).count()).toBe(0);
    expect((await ana.page.state()).participants.map((participant) => participant.id)).toEqual([cy.id]);
    expect((await ben.page.state()).connection).toBe('left');
    expect(await ben.page.page.locator('[data-ended]').count()).toBe(1);
  });

  it('a locked room: a newcomer waits in the lobby until the host lets them in, then both see each other', async () => {
    const { arrive, knock } = gathering('lobby');
    const ana = await arrive('Ana', cameraOnly);
    await ana.page.page.click('[data-action="participants"]');
    await ana.page.page.click('[data-action="lock"]');
    await expect.poll(async () => (await ana.page.state()).policy?.locked).toBe(true);

    const dee = await knock('Dee', cameraOnly);
    const waiting = dee.page.locator('[data-lobby-view]');
    await expect.poll(() => waiting.isVisible(), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => waiting.getAttribute('data-moderators-present')).toBe('true');
    expect(await dee.page.locator('[data-lobby-status]').textContent()).toMatch(/waiting for a host/i);
    expect((await dee.state()).connection).toBe('waiting');
    const indicator = ana.page.page.locator('[data-waiting-count]');
    await expect.poll(() => indicator.textContent(), { timeout: 10_000 }).toBe('1 waiting');
    expect(await ana.page.page.locator('.tile[data-kind="camera"]').count()).toBe(1);

    await indicator.click();
    await ana.page.page.locator('li[data-knock]', { hasText: 'Dee' }).locator('[data-action="admit"]').click();
    await dee.page.evaluate(() => window.conclave!.ready);
    const deeId = (await dee.state()).self!.id;
    expect(await waiting.count()).toBe(0);
    await Promise.all([waitForVideoFrom(dee, [ana.id]), waitForVideoFrom(ana.page, [deeId])]);
    await expect.poll(() => indicator.isVisible()).toBe(false);
    expect((await dee.state()).role).toBe('participant');
  });

  it('a room created with ?lobby=1 is locked from the start; someone turned away is told so', async () => {
    const { arrive, knock } = gathering('lobby-param');
    const ana = await arrive('Ana', { query: { cam: '0', mic: '0', lobby: '1' } });
    await expect.poll(async () => (await ana.page.state()).policy?.locked).toBe(true);
    const eve = await knock('Eve', watching);
    const indicator = ana.page.page.locator('[data-waiting-count]');
    await expect.poll(() => indicator.textContent(), { timeout: 20_000 }).toBe('1 waiting');
    await indicator.click();
    await ana.page.page.locator('li[data-knock]', { hasText: 'Eve' }).locator('[data-action="deny"]').click();
    await expect.poll(() => eve.page.locator('[data-ended]').getAttribute('data-reason'), { timeout: 10_000 }).toBe('denied');
    expect((await eve.state()).connection).toBe('left');
    expect((await ana.page.state()).participants).toHaveLength(0);

    // Ending the meeting takes a second click, and ends it for the host too.
    await ana.page.page.click('[data-action="end-meeting"]');
    await ana.page.page.click('[data-action="end-confirm"]');
    await expect.poll(() => ana.page.page.locator('[data-ended]').getAttribute('data-reason'), { timeout: 10_000 }).toBe('ended');
  });

  it('permissions: a screen share not allowed stops, its button and the chat box go, and newcomers join muted', async () => {
    const { arrive } = gathering('permissions');
    const ana = await arrive('Ana', watching);
    const ben = await arrive('Ben', watching);
    await ben.page.call('shareScreen');
    await expect.poll(() => ana.page.page.locator(`[data-peer-id="${ben.id}"][data-kind="screen"]`).count(), { timeout: 15_000 }).toBe(1);
    await ben.page.page.click('[data-action="chat"]');
    expect(await ben.page.page.locator('[data-chat-input]').isVisible()).toBe(true);

    await ana.page.page.click('[data-action="participants"]');
    await ana.page.page.locator('details.permissions summary').click();
    await ana.page.page.selectOption('select[data-policy="screenShare"]', 'moderators');
    await ana.page.page.selectOption('select[data-policy="chat"]', 'moderators');
    await ana.page.page.check('input[data-policy="joinMuted"]');
    await expect
      .poll(async () => (await ana.page.state()).policy, { timeout: 10_000 })
      .toMatchObject({ screenShare: 'moderators', chat: 'moderators', joinMuted: true });

    await expect.poll(() => ana.page.page.locator(`[data-peer-id="${ben.id}"][data-kind="screen"]`).count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => ben.page.page.locator('[data-action="screen"]').isVisible()).toBe(false);
    expect((await ben.page.state()).producers.filter((producer) => producer.source === 'screen')).toHaveLength(0);
    await expect.poll(() => ben.page.page.locator('[data-chat-input]').isVisible()).toBe(false);
    expect(await ben.page.page.locator('[data-chat-notice]').isVisible()).toBe(true);
    // The server closed the share itself: nothing went wrong on Ben's side.
    expect(await ben.page.page.locator('.toast.error').count()).toBe(0);
    expect(await ana.page.page.locator('[data-action="screen"]').isVisible()).toBe(true);

    const cy = await arrive('Cy', micOnly);
    await expect.poll(async () => (await cy.page.state()).producers.find((producer) => producer.source === 'mic')?.paused, { timeout: 10_000 }).toBe(true);
    await expect.poll(() => micOffShown(ana.page, cy.id), { timeout: 10_000 }).toBe(1);
    expect(await cy.page.page.locator('[data-action="mic"]').getAttribute('aria-pressed')).toBe('false');
    await cy.page.call('setMic', true);
    await expect.poll(() => micOffShown(ana.page, cy.id), { timeout: 10_000 }).toBe(0);
  });

  it('a raised hand and a reaction show on the others’ screens', async () => {
    const { arrive } = gathering('hands');
    const ana = await arrive('Ana', watching);
    const [ben, cy] = await Promise.all([arrive('Ben', watching), arrive('Cy', watching)]);
    const hand = (viewer: ParticipantPage, peerId: string) => tile(viewer, peerId).locator('.hand-badge[data-hand]:not([hidden])');

    await ben.page.page.click('[data-action="hand"]');
    await expect.poll(() => hand(ana.page, ben.id).getAttribute('data-hand'), { timeout: 10_000 }).toBe('1');
    await expect.poll(() => hand(cy.page, ben.id).getAttribute('data-hand'), { timeout: 10_000 }).toBe('1');
    await cy.page.page.click('[data-action="hand"]');
    await expect.poll(() => hand(ana.page, cy.id).getAttribute('data-hand'), { timeout: 10_000 }).toBe('2');
    expect((await ana.page.state()).hands.map((raised) => raised.displayName)).toEqual(['Ben', 'Cy']);

    await ben.page.page.click('[data-action="reactions"]');
    await ben.page.page.click('[data-action="react"][data-reaction="👍"]');
    for (const viewer of [ana.page, cy.page]) {
      await expect.poll(() => tile(viewer, ben.id).locator('[data-reaction="👍"]').count(), { timeout: 10_000 }).toBe(1);
      expect(await tile(viewer, ben.id).locator('[data-reaction="👍"]').isVisible()).toBe(true);
    }
    // It floats away after a few seconds.
    await expect.poll(() => tile(ana.page, ben.id).locator('[data-reaction]').count(), { timeout: 10_000 }).toBe(0);

    // Ben lowers his hand: Cy moves up the queue.
    await ben.page.page.click('[data-action="hand"]');
    await expect.poll(() => hand(ana.page, ben.id).count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => hand(ana.page, cy.id).getAttribute('data-hand')).toBe('1');
  });

  it('a participant cannot moderate: mute, remove and lock are refused with FORBIDDEN and nothing changes', async () => {
    const { arrive } = gathering('forbidden');
    const ana = await arrive('Ana', micOnly);
    const ben = await arrive('Ben', watching);
    await expect.poll(() => micOffShown(ben.page, ana.id), { timeout: 15_000 }).toBe(0);

    const refusals = await ben.page.page.evaluate(async (hostId) => {
      const conclave = window.conclave!;
      const codeOf = (attempt: Promise<unknown>) =>
        attempt.then(
          () => 'ok',
          (error: { code?: string; message?: string }) => error.code ?? error.message,
        );
      return {
        mute: await codeOf(conclave.muteParticipant(hostId, 'mic')),
        remove: await codeOf(conclave.removeParticipant(hostId)),
        lock: await codeOf(conclave.setPolicy({ locked: true })),
        muteAll: await codeOf(conclave.muteAll()),
      };
    }, ana.id);
    expect(refusals).toEqual({ mute: 'FORBIDDEN', remove: 'FORBIDDEN', lock: 'FORBIDDEN', muteAll: 'FORBIDDEN' });

    // Nothing changes: an absence, watched over a window (load can only hide a change, not invent one).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await micOffShown(ben.page, ana.id)).toBe(0);
    const anaState = await ana.page.state();
    expect(anaState.producers.find((producer) => producer.source === 'mic')?.paused).toBe(false);
    expect(anaState.policy?.locked).toBe(false);
    expect(anaState.participants.map((participant) => participant.id)).toEqual([ben.id]);
    // Nor does his view offer it: no menus, no meeting controls.
    await ben.page.page.click('[data-action="participants"]');
    await expect.poll(() => row(ben.page, ana.id).count()).toBe(1);
    expect(await ben.page.page.locator('[data-action="participant-menu"]').count()).toBe(0);
    expect(await ben.page.page.locator('[data-meeting-controls]').isVisible()).toBe(false);
  });

  it('the host’s participants panel shows roles, hands and what each person sends', async () => {
    const { arrive } = gathering('panel');
    const ana = await arrive('Ana');
    const [ben, cy, dee] = await Promise.all([arrive('Ben', micOnly), arrive('Cy', watching), arrive('Dee', cameraOnly)]);
    await act(ana.page, cy.id, 'makeModerator');
    await expect.poll(async () => (await cy.page.state()).role, { timeout: 10_000 }).toBe('moderator');
    await ben.page.page.click('[data-action="hand"]');
    await expect.poll(() => row(ana.page, ben.id).getAttribute('data-hand'), { timeout: 10_000 }).toBe('1');
    await expect.poll(() => row(ana.page, dee.id).getAttribute('data-camera'), { timeout: 15_000 }).toBe('on');
    await expect.poll(() => row(ana.page, ben.id).getAttribute('data-mic'), { timeout: 15_000 }).toBe('on');

    expect(await row(ana.page, ana.id).getAttribute('data-role')).toBe('host');
    expect(await row(ana.page, cy.id).locator('[data-role-badge]').textContent()).toBe('Moderator');
    expect(await row(ana.page, cy.id).getAttribute('data-mic')).toBe('off');
    expect(await ana.page.page.locator('[data-meeting-controls]').isVisible()).toBe(true);
    // Four people: no search box yet.
    expect(await ana.page.page.locator('[data-participant-search]').isVisible()).toBe(false);
    // A moderator gets the controls too, but no role changes (hosts only).
    await cy.page.page.click('[data-action="participants"]');
    await expect.poll(() => cy.page.page.locator('[data-meeting-controls]').isVisible()).toBe(true);
    await row(cy.page, ben.id).locator('[data-action="participant-menu"]').click();
    expect(await row(cy.page, ben.id).locator('[data-participant-action="makeModerator"]').count()).toBe(0);
    expect(await row(cy.page, ana.id).locator('[data-action="participant-menu"]').count()).toBe(0);

    await waitForVideoFrom(ana.page, [dee.id]);
    mkdirSync(path.join(root, 'test-results'), { recursive: true });
    const shot = await ana.page.page.screenshot({ path: path.join(root, 'test-results', 'participants-panel.png') });
    if (process.env.UPDATE_SCREENSHOTS === '1') await ana.page.page.screenshot({ path: path.join(root, 'docs', 'images', 'participants-panel.png') });
    expect(shot.byteLength).toBeGreaterThan(10_000);
  });
});
