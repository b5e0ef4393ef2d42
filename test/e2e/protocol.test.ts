import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Browser } from 'playwright-core';
import { Server as SocketServer } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { launchChromium } from '../helpers/browser.js';
import { CLIENT_DIST } from '../helpers/server.js';

/**
 * The page meets a server that speaks another protocol (a page cached from before an upgrade):
 * a stand-in server serves the built client and greets it with a forged welcome.
 */
describe('a page and a server that speak different protocols', () => {
  let http: HttpServer;
  let io: SocketServer;
  let url: string;
  let browser: Browser;
  /** The version the stand-in server announces to the next connection. */
  let announced = PROTOCOL_VERSION;
  /** Requests the page sent, by name. */
  let requests: string[] = [];

  beforeAll(async () => {
    const app = express();
    app.use(express.static(CLIENT_DIST));
    http = createServer(app);
    io = new SocketServer(http);
    io.on('connection', (socket) => {
      socket.onAny((event: string, ...args: unknown[]) => {
        requests.push(event);
        const ack = args.at(-1);
        // No room here: every request fails, which is enough to show the page went on to ask.
        if (typeof ack === 'function')
          (ack as (answer: unknown) => void)({ ok: false, error: { code: 'ROOM_FULL', message: 'The stand-in server has no rooms' } });
      });
      socket.emit('welcome', { protocolVersion: announced, serverVersion: 'stand-in', routerRtpCapabilities: { codecs: [], headerExtensions: [] } });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await io?.close();
  });

  async function openPage(): Promise<{ text: string; joinError: string }> {
    requests = [];
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${url}/?room=version-check&name=Ana&cam=0&mic=0`);
      await page.waitForFunction(() => window.conclave !== undefined);
      const joinError = await page.evaluate(() =>
        window.conclave!.ready.then(
          () => 'joined',
          (error: unknown) => String(error),
        ),
      );
      await page.locator('.ended').waitFor();
      return { text: (await page.locator('.ended').textContent()) ?? '', joinError };
    } finally {
      await context.close();
    }
  }

  it('a page older than the server stops before joining and asks to be reloaded', async () => {
    announced = PROTOCOL_VERSION + 1;
    const { text, joinError } = await openPage();
    const message = `This page is out of date for the server (protocol ${PROTOCOL_VERSION}, server ${PROTOCOL_VERSION + 1}): reload the page.`;
    expect(text).toContain(message);
    expect(joinError).toContain(message);
    expect(requests).not.toContain('join');
  });

  it('a page newer than the server stops too', async () => {
    announced = PROTOCOL_VERSION - 1;
    const { text } = await openPage();
    expect(text).toContain(`This page is newer than the server (protocol ${PROTOCOL_VERSION}, server ${PROTOCOL_VERSION - 1}): reload the page.`);
    expect(requests).not.toContain('join');
  });

  it('with the same protocol the page goes on to join (and shows the server’s answer)', async () => {
    announced = PROTOCOL_VERSION;
    const { text } = await openPage();
    expect(requests).toContain('join');
    expect(text).toContain('This room is full.'); // the server's code (ROOM_FULL) in the reader's language
    expect(text).not.toContain('reload the page');
  });
});
