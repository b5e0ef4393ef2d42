import type { Browser, BrowserContext, Page } from 'playwright-core';
import { installProbe, type ProbeRecord } from './probe.js';
import type { BotRecord, BotSample, RunSettings } from './types.js';

export interface BotPlan {
  name: string;
  room: string;
  /** Publishes camera and microphone; otherwise joins with cam=0&mic=0 and only receives. */
  sender: boolean;
}

const JOIN_TIMEOUT_MS = 45_000;

/**
 * One participant in headless Chromium, driven only through the public contract: the URL
 * (`/?room=R&name=N`, `cam=0&mic=0`) and `window.conclave`.
 */
export class Bot {
  readonly record: BotRecord;
  private context: BrowserContext | undefined;
  private page: Page | undefined;
  private sampling = false;

  constructor(readonly plan: BotPlan) {
    this.record = {
      name: plan.name,
      room: plan.room,
      sender: plan.sender,
      startedAt: Date.now(),
      joinMs: null,
      error: null,
      peerId: null,
      presentAtJoin: [],
      firstFrames: {},
      samples: [],
    };
  }

  get joined(): boolean {
    return this.record.joinMs !== null;
  }

  get settled(): boolean {
    return this.joined || this.record.error !== null;
  }

  /** Opens the page and resolves once joined; a failure is recorded, not thrown. */
  async join(browser: Browser, { url, viewport, query }: Pick<RunSettings, 'url' | 'viewport' | 'query'>, token?: string): Promise<void> {
    try {
      this.context = await browser.newContext({ viewport });
      await this.context.addInitScript(installProbe);
      const page = await this.context.newPage();
      this.page = page;
      const params = new URLSearchParams({
        ...query,
        room: this.plan.room,
        name: this.plan.name,
        ...(this.plan.sender ? {} : { cam: '0', mic: '0' }),
        ...(token ? { token } : {}),
      });
      await page.goto(`${url}/?${params.toString()}`, { timeout: JOIN_TIMEOUT_MS });
      this.record.startedAt = await page.evaluate(() => performance.timeOrigin);
      const probe = await page.waitForFunction(
        () => {
          const record = window.__loadtestProbe;
          return record && (record.joinedAt !== null || record.joinError !== null) ? record : null;
        },
        undefined,
        { timeout: JOIN_TIMEOUT_MS, polling: 50 },
      );
      const record = (await probe.jsonValue()) as ProbeRecord;
      if (record.joinError !== null) throw new Error(record.joinError);
      this.record.joinMs = record.joinedAt;
      this.record.peerId = record.peerId;
      this.record.presentAtJoin = record.presentAtJoin;
    } catch (error) {
      this.record.error = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    }
  }

  /** Takes one sample of the bot's stats (and its first-frame times so far). */
  async sample(): Promise<void> {
    if (!this.page || !this.joined || this.sampling || this.page.isClosed()) return;
    this.sampling = true;
    try {
      const { sample, firstFrames } = await this.page.evaluate(async (): Promise<{ sample: BotSample; firstFrames: Record<string, number> }> => {
        const conclave = window.conclave!;
        const stats = await conclave.stats();
        const state = conclave.state();
        return {
          firstFrames: { ...window.__loadtestProbe?.firstFrames },
          sample: {
            t: stats.timestamp,
            connection: state.connection,
            cameraPublishers: state.participants
              .filter((participant) => participant.tracks.some((track) => track.source === 'camera' && !track.paused))
              .map((participant) => participant.id),
            consumers: stats.consumers.map(
              ({
                consumerId,
                peerId,
                source,
                kind,
                paused,
                pausedByClient,
                spatialLayer,
                bytesReceived,
                packetsReceived,
                packetsLost,
                jitter,
                framesDecoded,
                frameWidth,
                frameHeight,
              }) => ({
                consumerId,
                peerId,
                source,
                kind,
                paused,
                pausedByClient,
                spatialLayer,
                bytesReceived,
                packetsReceived,
                packetsLost,
                jitter,
                framesDecoded,
                frameWidth,
                frameHeight,
              }),
            ),
            producers: stats.producers.map(({ source, kind, paused, packetsSent, framesEncoded, frameWidth, frameHeight }) => ({
              source,
              kind,
              paused,
              packetsSent,
              framesEncoded,
              frameWidth,
              frameHeight,
            })),
          },
        };
      });
      this.record.samples.push(sample);
      this.record.firstFrames = firstFrames;
    } catch (error) {
      // A page that crashed or closed stops sampling; the gap shows in the results.
      this.record.error ??= `sampling failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
    } finally {
      this.sampling = false;
    }
  }

  /** Leaves the room politely (so the server frees it at once), then closes the page. */
  async close(): Promise<void> {
    if (this.page && !this.page.isClosed() && this.joined) {
      await Promise.race([this.page.evaluate(() => window.conclave?.leave()).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000))]);
    }
    await this.context?.close().catch(() => undefined);
  }
}
