import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NetLab,
  atFullQuality,
  describeReading,
  netlabUnavailable,
  sentLayers,
  openLabParticipant,
  watch,
  writeCameraClip,
  type LabHost,
  type LabParticipant,
  type SeenVideo,
  type WindowReading,
} from '../helpers/netlab.js';
import { CLIENT_DIST, eventually, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Issue #15, what people see on a poor link. Ana and Ben are on clean links; Cy sits in a network
 * namespace of her own whose link the lab caps (a slow link, which delivers no faster than its rate:
 * SLOW_LINK_BURST_BYTES in test/helpers/netlab.ts; `npm run bench:adapt -- --burst 4096` measures a
 * bursty shaper). Her downlink capped at the issue's 500 kbit/s, where
 * the two cameras' lowest layers fit with room to spare (160×90 from these 640×360 cameras, 2 ×
 * 80 kbit/s, plus two voices) and their middle ones (2 × 150 kbit/s) only without the headroom the
 * policy asks for before stepping up: she must
 * still see both at ≥ 15 fps and hear both without gaps, and Ana and Ben must not notice. Her
 * uplink capped: the others must still see her at ≥ 15 fps. Once the cap goes, she is back to what
 * her tiles ask for within about 10 s; and under a steady cap the picture does not keep switching.
 *
 * Measured from the pages as people see them: frames each remote camera's <video> presents
 * (requestVideoFrameCallback) and their size, the layers the server reports forwarding, and the
 * microphones' packets and concealed samples (test/helpers/netlab.ts). Every figure is printed
 * with a [netlab] prefix, so CI logs show what a run measured.
 */

const SKIP = netlabUnavailable();
if (SKIP) console.warn(`[netlab] skipped: ${SKIP}`);

const ROOM = 'netlab';
/** Fits two lowest layers and two voices with room to spare; two middle layers only just. */
const CAP_KBIT = 500;
const MIN_FPS = 15;
/** A steady link: at most this many layer changes per camera within the steady window. */
const MAX_SWITCHES = 4;
const MAX_CONCEALMENT = 0.05;
/** The issue asks for about 10 s; the bound is looser for a shared CI machine, and the time is printed. */
const RECOVERY_BOUND_S = 20;
const SETTLE_S = 10;
const STEADY_S = 30;
const UPLINK_WINDOW_S = 20;
/** Everyone's window: three tiles about 350 px tall, which ask for the middle layer (320×180 of a 640×360 camera). */
const VIEWPORT = { width: 1280, height: 720 };

const log = (message: string): void => console.log(`[netlab] ${message}`);

/**
 * A case that fails runs once more (each caps and measures afresh; the log shows both attempts):
 * on this shared 2-core machine a busy moment's false alarm of the estimator (a clean link's
 * estimate cut by half with no loss and no queue, BENCHMARKS.md §6 session 24) can take one
 * window. Ten runs in a row passed every case at the first attempt (session 25).
 */
const CASES = { timeout: 120_000, retry: 1 };

describe.skipIf(SKIP !== undefined)(`a poor link (tc caps in a network namespace)${SKIP ? ` — skipped: ${SKIP}` : ''}`, CASES, () => {
  let lab: NetLab | undefined;
  let server: TestServer | undefined;
  const browsers: Browser[] = [];
  let cyHost: LabHost;
  let ana: LabParticipant;
  let ben: LabParticipant;
  let cy: LabParticipant;
  /** What each viewer receives of each camera on clean links: the layers and size its tile asks for. */
  const full = new Map<string, SeenVideo>();
  /** Who looks at whom on clean links before anything is capped. */
  let pairs: [LabParticipant, LabParticipant][] = [];
  let underCap: { cy: WindowReading; ana: WindowReading; ben: WindowReading } | undefined;

  const key = (viewer: LabParticipant, sender: LabParticipant): string => `${viewer.name}←${sender.name}`;

  beforeAll(async () => {
    lab = await NetLab.create();
    cyHost = await lab.addHost('cy');
    const clip = await writeCameraClip(path.join(lab.workDir, 'camera.y4m'));
    // Everything on the lab's bridge: the clean pages reach it locally, Cy's through her veth.
    server = await startTestServer({ CLIENT_DIST, HTTP_HOST: lab.gateway, LISTEN_IP: lab.gateway, ANNOUNCED_IP: lab.gateway });
    const url = server.url;
    const clean = await lab.launchChromium(null, url, clip);
    browsers.push(clean);
    const isolated = await lab.launchChromium(cyHost, url, clip);
    browsers.push(isolated);
    ana = await openLabParticipant(clean, url, ROOM, 'Ana', { viewport: VIEWPORT });
    ben = await openLabParticipant(clean, url, ROOM, 'Ben', { viewport: VIEWPORT });
    cy = await openLabParticipant(isolated, url, ROOM, 'Cy', { viewport: VIEWPORT });

    pairs = [
      [cy, ana],
      [cy, ben],
      [ana, ben],
      [ben, ana],
      [ana, cy],
      [ben, cy],
    ];
    await eventually(async () => (await Promise.all(pairs.map(async ([viewer, sender]) => (await viewer.look()).video[sender.name]?.frames))).every(Boolean), {
      what: 'everyone to see everyone',
      timeoutMs: 60_000,
      intervalMs: 1000,
    });
  }, 240_000);

  afterAll(async () => {
    // Each step on its own, so the lab goes whatever failed before.
    await Promise.allSettled(browsers.map((browser) => browser.close()));
    await server?.close().catch(() => undefined);
    await lab?.destroy();
  });

  it(`on clean links everyone receives every camera as the tiles ask, at ≥ ${MIN_FPS} fps`, async () => {
    // A busy machine's encoders take a while to reach their top layers: up to a minute.
    const seen = new Map<string, SeenVideo | undefined>();
    try {
      await eventually(
        async () => {
          for (const [viewer, sender] of pairs) seen.set(key(viewer, sender), (await viewer.look()).video[sender.name]);
          return [...seen.values()].every(atFullQuality);
        },
        { what: 'every camera at the layer its tile asks for', timeoutMs: 60_000, intervalMs: 1000 },
      );
    } finally {
      // What the later cases compare with, even if this one fails.
      for (const [pair, video] of seen) if (video) full.set(pair, video);
      log(`on clean links: ${[...seen].map(([pair, video]) => `${pair} ${sizeOf(video)} ${layersOf(video)}`).join(', ')}`);
    }
    const readings = await Promise.all([cy, ana, ben].map((viewer) => watch(viewer, 10)));
    for (const [viewer, reading] of [cy, ana, ben].map((viewer, i) => [viewer, readings[i]!] as const)) {
      log(`  clean, 10 s: ${viewer.name} sees ${describeReading(reading)}`);
      for (const sender of [cy, ana, ben].filter((other) => other !== viewer)) {
        expect.soft(reading.video[sender.name]?.fps ?? 0, `${viewer.name} sees ${sender.name} at ≥ ${MIN_FPS} fps`).toBeGreaterThanOrEqual(MIN_FPS);
      }
    }
  });

  it(`Cy's downlink capped at ${CAP_KBIT} kbit/s: she sees both cameras at ≥ ${MIN_FPS} fps and hears both without gaps, and Ana and Ben see each other as before`, async () => {
    await lab!.cap(cyHost, 'down', CAP_KBIT);
    log(`settling (${SETTLE_S} s): Cy ${describeReading(await watch(cy, SETTLE_S))}`);
    const [cyReading, anaReading, benReading] = await Promise.all([watch(cy, STEADY_S), watch(ana, STEADY_S), watch(ben, STEADY_S)]);
    underCap = { cy: cyReading, ana: anaReading, ben: benReading };
    log(`downlink ${CAP_KBIT} kbit/s, ${STEADY_S} s: Cy sees ${describeReading(cyReading)}`);
    log(`  Ana sees ${describeReading(anaReading)}`);
    log(`  Ben sees ${describeReading(benReading)}`);

    for (const sender of [ana, ben]) {
      const video = cyReading.video[sender.name];
      expect.soft(video?.fps ?? 0, `Cy sees ${sender.name} at ≥ ${MIN_FPS} fps`).toBeGreaterThanOrEqual(MIN_FPS);
      const audio = cyReading.audio[sender.name];
      expect.soft(audio?.packets ?? 0, `Cy receives ${sender.name}'s voice`).toBeGreaterThan(0);
      expect.soft(audio?.silentSeconds, `seconds without ${sender.name}'s voice`).toBe(0);
      expect.soft(audio?.concealment ?? 1, `share of ${sender.name}'s voice concealed`).toBeLessThanOrEqual(MAX_CONCEALMENT);
    }
    for (const [viewer, reading, sender] of [
      [ana, anaReading, ben],
      [ben, benReading, ana],
    ] as const) {
      const video = reading.video[sender.name];
      expect.soft(video?.fps ?? 0, `${viewer.name} sees ${sender.name} at ≥ ${MIN_FPS} fps`).toBeGreaterThanOrEqual(MIN_FPS);
      expect.soft(sizeOf(video), `${viewer.name} sees ${sender.name} at full size`).toBe(sizeOf(full.get(key(viewer, sender))));
    }
  });

  it(`under that steady cap the picture holds still: at most ${MAX_SWITCHES} layer switches per camera in ${STEADY_S} s`, () => {
    if (!underCap) throw new Error('no measurement under the cap (the case before failed to take it)');
    for (const sender of [ana, ben]) {
      const video = underCap.cy.video[sender.name];
      if (!video) throw new Error(`Cy shows no camera of ${sender.name}`);
      log(
        `switches of ${sender.name}'s camera at Cy: size ${video.sizeChanges}, layer ${video.layerSwitches} (spatial ${video.spatialSwitches}, temporal ${video.temporalSwitches})`,
      );
      expect.soft(video.sizeChanges, `size changes of ${sender.name}'s camera`).toBeLessThanOrEqual(MAX_SWITCHES);
      expect.soft(video.layerSwitches, `layer switches of ${sender.name}'s camera`).toBeLessThanOrEqual(MAX_SWITCHES);
    }
  });

  it(`the cap lifted, Cy is back to full quality within about 10 s (bound ${RECOVERY_BOUND_S} s)`, async () => {
    // Capped still (or again: the case before stopped early, or this is a retry). Lifted only once
    // the cap holds her cameras down, or the case would time nothing.
    await lab!.cap(cyHost, 'down', CAP_KBIT);
    await eventually(
      async () => {
        const sight = await cy.look();
        return [ana, ben].some((sender) => !atFullQuality(sight.video[sender.name]));
      },
      { what: "the cap to hold Cy's cameras down", timeoutMs: 40_000, intervalMs: 500 },
    );
    await lab!.uncap(cyHost);
    const liftedAt = Date.now();
    let last = await cy.look();
    try {
      await eventually(
        async () => {
          last = await cy.look();
          return [ana, ben].every(
            (sender) => atFullQuality(last.video[sender.name]) && last.video[sender.name]!.height >= (full.get(key(cy, sender))?.height ?? 0),
          );
        },
        { what: 'Cy back to full quality', timeoutMs: 60_000, intervalMs: 500 },
      );
    } finally {
      const now = [ana, ben].map((sender) => {
        const video = last.video[sender.name];
        return `${sender.name} ${sizeOf(video)} ${layersOf(video)}`;
      });
      log(`cap lifted: ${((last.at - liftedAt) / 1000).toFixed(1)} s until full quality (${now.join(', ')})`);
    }
    const recovery = (last.at - liftedAt) / 1000;
    const after = await watch(cy, 5);
    log(`  then Cy sees ${describeReading(after)}`);
    expect(recovery).toBeLessThanOrEqual(RECOVERY_BOUND_S);
    for (const sender of [ana, ben])
      expect.soft(after.video[sender.name]?.fps ?? 0, `Cy sees ${sender.name} at ≥ ${MIN_FPS} fps`).toBeGreaterThanOrEqual(MIN_FPS);
  });

  it(`Cy's uplink capped at ${CAP_KBIT} kbit/s: Ana and Ben see her at ≥ ${MIN_FPS} fps, and each other as before`, async () => {
    await lab!.cap(cyHost, 'up', CAP_KBIT);
    try {
      log(`settling (${SETTLE_S} s): Ana sees ${describeReading(await watch(ana, SETTLE_S))}`);
      const [anaReading, benReading] = await Promise.all([watch(ana, UPLINK_WINDOW_S), watch(ben, UPLINK_WINDOW_S)]);
      log(`uplink ${CAP_KBIT} kbit/s, ${UPLINK_WINDOW_S} s: Ana sees ${describeReading(anaReading)}`);
      log(`  Ben sees ${describeReading(benReading)}`);
      for (const sender of [ana, ben, cy]) {
        const layers = Object.entries(await sentLayers(sender));
        log(
          `  ${sender.name} sends ${layers.map(([rid, layer]) => `${rid} ${layer.width}×${layer.height} limited by ${layer.limitation} (${JSON.stringify(layer.limitedSeconds)})`).join(', ')}`,
        );
      }
      for (const [viewer, reading, other] of [
        [ana, anaReading, ben],
        [ben, benReading, ana],
      ] as const) {
        expect.soft(reading.video[cy.name]?.fps ?? 0, `${viewer.name} sees Cy at ≥ ${MIN_FPS} fps`).toBeGreaterThanOrEqual(MIN_FPS);
        expect.soft(reading.audio[cy.name]?.silentSeconds, `seconds without Cy's voice at ${viewer.name}`).toBe(0);
        expect.soft(reading.video[other.name]?.fps ?? 0, `${viewer.name} sees ${other.name} at ≥ ${MIN_FPS} fps`).toBeGreaterThanOrEqual(MIN_FPS);
        expect.soft(sizeOf(reading.video[other.name]), `${viewer.name} sees ${other.name} at full size`).toBe(sizeOf(full.get(key(viewer, other))));
      }
    } finally {
      await lab!.uncap(cyHost);
    }
  });
});

function sizeOf(video: { width: number; height: number } | undefined): string {
  return video ? `${video.width}×${video.height}` : 'nothing';
}

function layersOf(video: SeenVideo | undefined): string {
  return video ? `S${video.spatialLayer ?? '-'}T${video.temporalLayer ?? '-'} (want S${video.preferredSpatialLayer ?? '-'})` : '';
}
