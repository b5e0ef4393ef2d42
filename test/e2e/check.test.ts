import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../client/src/check/report.js';
import { CHECK_IDS, type CheckId, type CheckStatus } from '../../client/src/check/types.js';
import { CHECK_NAMESPACE } from '../../shared/check.js';
import type { Result } from '../../shared/errors.js';
import { signToken } from '../../server/src/auth/token.js';
import { launchChromium } from '../helpers/browser.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import { NetLab, netlabUnavailable, type LabHost } from '../helpers/netlab.js';
import { CLIENT_DIST, eventually, startTestServer, useServer, type TestServer } from '../helpers/server.js';

/**
 * The pre-call check page (/check) in a real Chromium against a real server: on a healthy setup
 * everything passes with measured numbers; each failure it should find (camera denied, no
 * microphone, UDP blocked, TURN misconfigured, no token) shows in its row and in the verdict's words.
 */

type Getter = 'deny' | 'no-mic' | 'real';

interface Outcome {
  page: Page;
  report: CheckReport;
  /** Each row's status as the page shows it. */
  rows: Record<CheckId, CheckStatus>;
  /** The verdict's findings on the page: code → sentence. */
  findings: Map<string, string>;
  headline: string;
}

/** Opens /check as a new person, presses Start and waits for the verdict. */
async function runCheck(browser: Browser, baseUrl: string, getter: Getter = 'real', query = ''): Promise<Outcome> {
  const context = await browser.newContext();
  await context.addInitScript((mode: Getter) => {
    const devices = navigator.mediaDevices;
    if (!devices || mode === 'real') return;
    const original = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (constraints?: MediaStreamConstraints) => {
      if (mode === 'deny') throw new DOMException('Permission denied', 'NotAllowedError');
      if (constraints?.audio) throw new DOMException('Requested device not found', 'NotFoundError');
      return original(constraints);
    };
  }, getter);
  const page = await context.newPage();
  await page.goto(`${baseUrl}/check${query}`, { timeout: 90_000 });
  await page.click('[data-action="start"]');
  return finished(page);
}

async function finished(page: Page): Promise<Outcome> {
  await page.waitForSelector('main.check[data-state="done"]', { timeout: 60_000 });
  const report = await page.evaluate(() => window.conclaveCheck!.report());
  if (!report) throw new Error('the check finished without a report');
  const rows = await page.evaluate(
    (ids) => Object.fromEntries(ids.map((id) => [id, document.querySelector<HTMLElement>(`[data-check="${id}"]`)?.dataset.status])),
    [...CHECK_IDS],
  );
  const findings = new Map(
    await page.$$eval('.check-findings li', (items) =>
      items.map((item) => [(item as HTMLElement).dataset.finding ?? '', item.textContent ?? ''] as [string, string]),
    ),
  );
  const headline = (await page.textContent('.check-headline')) ?? '';
  return { page, report, rows: rows as Record<CheckId, CheckStatus>, findings, headline };
}

const describeResults = (outcome: Outcome): string => JSON.stringify(outcome.report.results);

describe('the pre-call check', { timeout: 120_000 }, () => {
  let browser: Browser;
  let coturn: Coturn;
  const pages: Page[] = [];

  beforeAll(async () => {
    coturn = await startCoturn();
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const page of pages) await page.context().close();
    await browser?.close();
    await coturn?.stop();
  });

  describe('on a healthy server with TURN', () => {
    const server = useServer(() => ({ CLIENT_DIST, TURN_URLS: `${coturn.url}?transport=udp`, TURN_SECRET: coturn.secret }));

    it('passes every check, with round trips, the selected paths and both bandwidths measured, and says so', async () => {
      const outcome = await runCheck(browser, server.url);
      pages.push(outcome.page);
      const { results } = outcome.report;
      console.log(`[check] healthy: ${describeResults(outcome)}`);
      for (const id of ['browser', 'camera', 'microphone', 'signalling', 'udp', 'tcp', 'relay', 'bandwidth'] as const) {
        expect(outcome.rows[id], id).toBe('pass');
      }
      expect(results.camera.width).toBeGreaterThan(0);
      expect(results.camera.frameRate).toBeGreaterThan(5);
      expect(results.microphone.peakLevel).toBeGreaterThan(0);
      expect(results.signalling.rttMs).toBeGreaterThan(0);
      expect(results.udp.rttMs).toBeGreaterThan(0);
      expect(results.udp.pair).toMatchObject({ localProtocol: 'udp', remoteType: 'host', remoteProtocol: 'udp' });
      expect(results.tcp.rttMs).toBeGreaterThan(0);
      expect(results.tcp.pair).toMatchObject({ localProtocol: 'tcp', remoteProtocol: 'tcp' });
      expect(results.relay.pair).toMatchObject({ localType: 'relay', relayProtocol: 'udp' });
      expect(results.bandwidth.uploadBps).toBeGreaterThan(0);
      expect(results.bandwidth.downloadBps).toBeGreaterThan(0);
      expect([...outcome.findings.keys()]).toEqual(['udp-ok']);
      expect(outcome.findings.get('udp-ok')).toContain('UDP');

      // The speakers wait for the person: play the sound, say it was heard; the report follows.
      await outcome.page.click('[data-action="play-sound"]');
      await outcome.page.click('[data-action="heard"]');
      const report = await eventually(async () => {
        const latest = await outcome.page.evaluate(() => window.conclaveCheck!.report());
        return latest?.results.speakers.status === 'pass' ? latest : null;
      });
      expect(report.verdict.overall).toBe('ok');
      expect(await outcome.page.textContent('.check-headline')).toContain('ready for calls');
      const text = (await outcome.page.textContent('.check-report-text')) ?? '';
      expect(text).toContain('Media over UDP');
      expect(text).toContain(report.userAgent);
    });

    it('reports a camera the browser was denied, in plain words', async () => {
      const outcome = await runCheck(browser, server.url, 'deny');
      pages.push(outcome.page);
      expect(outcome.rows.camera).toBe('fail');
      expect(outcome.report.results.camera.code).toBe('denied');
      expect(outcome.findings.get('camera-denied')).toMatch(/camera is blocked/);
      expect(outcome.report.verdict.overall).toBe('fail');
      // The network does not depend on the devices.
      expect(outcome.rows.udp).toBe('pass');
    });

    it('reports a missing microphone, and still passes the camera', async () => {
      const outcome = await runCheck(browser, server.url, 'no-mic');
      pages.push(outcome.page);
      expect(outcome.rows.microphone).toBe('fail');
      expect(outcome.report.results.microphone.code).toBe('not-found');
      expect(outcome.findings.get('mic-missing')).toMatch(/No microphone was found/);
      expect(outcome.rows.camera).toBe('pass');
    });

    it('when the server turns the media tests down, says to try again and blames no network', async () => {
      // Four other checks from this address hold media: the server's per-address limit refuses a fifth.
      const holders = Array.from({ length: 4 }, () => io(`${server.url}${CHECK_NAMESPACE}`, { transports: ['websocket'] }));
      try {
        await Promise.all(holders.map((holder) => new Promise((resolve) => holder.once('checkWelcome', resolve))));
        for (const holder of holders) {
          const open = (await holder.timeout(10_000).emitWithAck('openTransport', { path: 'udp' })) as Result<unknown>;
          expect(open.ok).toBe(true);
        }
        const outcome = await runCheck(browser, server.url);
        pages.push(outcome.page);
        console.log(`[check] server busy: ${describeResults(outcome)}`);
        expect(outcome.rows.signalling).toBe('pass');
        for (const id of ['udp', 'tcp'] as const) {
          expect(outcome.report.results[id]).toMatchObject({ code: 'server-refused', serverCode: 'RATE_LIMITED' });
        }
        expect(outcome.report.results.bandwidth.code).toBe('server-refused');
        expect(outcome.findings.get('server-busy')).toMatch(/could not run some of the tests right now/);
        for (const blame of ['no-media-path', 'udp-blocked-tcp', 'udp-blocked-turn', 'direct-blocked-turn', 'turn-failed']) {
          expect(outcome.findings.has(blame), blame).toBe(false);
        }
        // The row says it in the page's words; the server's own words are only in the report.
        await outcome.page.selectOption('select.language-picker', 'zh-CN');
        expect(await outcome.page.textContent('[data-check="udp"] .check-detail')).toBe('服务器暂时无法进行此项测试（正忙或正在重启）');
        expect(await outcome.page.textContent('.check-report-text')).toMatch(/技术细节: RATE_LIMITED: /);
      } finally {
        for (const holder of holders) holder.close();
      }
    });
  });

  describe('on a server that wants join tokens and whose TURN secret is wrong', () => {
    const secret = randomBytes(24).toString('base64url');
    const server = useServer(() => ({
      CLIENT_DIST,
      AUTH_SECRET: secret,
      TURN_URLS: `${coturn.url}?transport=udp`,
      TURN_SECRET: randomBytes(18).toString('base64url'),
    }));

    it('answers pings without a token but opens no media for it', async () => {
      const socket = io(`${server.url}${CHECK_NAMESPACE}`, { transports: ['websocket'] });
      try {
        const welcome = await new Promise<{ tokenRequired: boolean; authorized: boolean }>((resolve) => socket.once('checkWelcome', resolve));
        expect(welcome).toMatchObject({ tokenRequired: true, authorized: false });
        const ping = (await socket.emitWithAck('ping', {})) as Result<unknown>;
        expect(ping.ok).toBe(true);
        const open = (await socket.emitWithAck('openTransport', { path: 'udp' })) as Result<unknown>;
        expect(open).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORIZED' } });
      } finally {
        socket.close();
      }
    });

    it('says a token is needed; with one it runs, and it names TURN as what is broken', async () => {
      const outcome = await runCheck(browser, server.url);
      pages.push(outcome.page);
      expect(outcome.rows.signalling).toBe('warn');
      for (const id of ['udp', 'tcp', 'relay', 'bandwidth'] as const) expect(outcome.report.results[id].code, id).toBe('token-needed');
      expect(outcome.findings.get('token-needed')).toMatch(/token/);

      const token = await signToken(secret, { room: 'any-room', name: 'Checker' }, 600);
      await outcome.page.fill('input[name="token"]', token);
      await outcome.page.click('.check-token button[type="submit"]');
      await outcome.page.waitForSelector('main.check[data-state="running"]');
      const withToken = await finished(outcome.page);
      console.log(`[check] wrong TURN secret: ${describeResults(withToken)}`);
      expect(withToken.rows.signalling).toBe('pass');
      expect(withToken.rows.udp).toBe('pass');
      expect(withToken.rows.relay).toBe('fail');
      expect(withToken.report.results.relay.code).toBe('refused');
      expect(withToken.findings.get('turn-failed')).toMatch(/TURN relay of this server does not work/);
      expect(withToken.findings.has('udp-ok')).toBe(true);
    });
  });

  const SKIP = netlabUnavailable();
  describe.skipIf(SKIP !== undefined)(`from a network that drops UDP${SKIP ? ` — skipped: ${SKIP}` : ''}`, () => {
    let lab: NetLab | undefined;
    let host: LabHost;
    let server: TestServer | undefined;
    let isolated: Browser | undefined;

    beforeAll(async () => {
      lab = await NetLab.create();
      host = await lab.addHost('noudp');
      await lab.blockUdp(host);
      server = await startTestServer({ CLIENT_DIST, HTTP_HOST: lab.gateway, LISTEN_IP: lab.gateway, ANNOUNCED_IP: lab.gateway });
      isolated = await lab.launchChromium(host, `http://${lab.gateway}:${server.port}`);
    });

    afterAll(async () => {
      await isolated?.close();
      await server?.close();
      await lab?.destroy();
    });

    it('fails UDP, passes TCP, and says calls will use TCP', async () => {
      const outcome = await runCheck(isolated!, `http://${lab!.gateway}:${server!.port}`, 'real', '?lang=en');
      console.log(`[check] UDP dropped: ${describeResults(outcome)}`);
      expect(outcome.rows.signalling).toBe('pass');
      expect(outcome.rows.udp).toBe('fail');
      expect(outcome.report.results.udp.code).toBe('timeout');
      expect(outcome.rows.tcp).toBe('pass');
      expect(outcome.report.results.tcp.pair).toMatchObject({ localProtocol: 'tcp' });
      expect(outcome.rows.relay).toBe('skip');
      expect(outcome.rows.bandwidth).not.toBe('fail');
      expect(outcome.report.results.bandwidth.path).toBe('tcp');
      expect(outcome.findings.get('udp-blocked-tcp')).toMatch(/blocks UDP; calls will use TCP/);
      // The same verdict in Chinese, switched on the page without a reload.
      await outcome.page.selectOption('select.language-picker', 'zh-CN');
      expect(await outcome.page.textContent('[data-finding="udp-blocked-tcp"]')).toBe('你的网络屏蔽了 UDP；通话将改用 TCP，可能会较慢。');
      // Only the catalogue's words in the row (the browser's "not connected within 8 s" is for the report).
      expect(await outcome.page.textContent('[data-check="udp"] .check-detail')).toBe('在时限内未能连接');
      // The way back keeps the language now chosen.
      expect(await outcome.page.getAttribute('a.check-back', 'href')).toBe('/?lang=zh-CN');
      await outcome.page.context().close();
    });
  });
});
