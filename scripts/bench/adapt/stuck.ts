import path from 'node:path';
import { parseArgs } from 'node:util';
import type { types } from 'mediasoup';
import type { Browser } from 'playwright-core';
import { experiments } from '../../../server/src/quality/LinkMonitor.js';
import type { ConclaveServer } from '../../../server/src/server.js';
import { NetLab, atFullQuality, openLabParticipant, writeCameraClip, type LabParticipant } from '../../../test/helpers/netlab.js';
import { labBenchOptions, startLabServer } from './adapt.js';

/**
 * `npm run bench:adapt -- --stuck`: a clean link whose bandwidth estimate fell. Three people on
 * clean links; Ben's downlink estimate is held at 300 kbit/s for 4 s (a maximum outgoing bitrate
 * set again and again, as a busy machine's false alarm cuts it), which steps his cameras down, then
 * released. libwebrtc then lets the estimate rise no higher than 1.5 times what is sent, and what is
 * sent is what the held layers need: the bench times how long until Ben sees both cameras as his
 * tiles ask again, with the policy's trials (DownlinkPolicy, TRIAL_AFTER_MS) or without them
 * (`--no-trials`).
 */

interface Options {
  rounds: number;
  trials: boolean;
}

const HELP = `Usage: npm run bench:adapt -- --stuck [--rounds N (default 5)] [--no-trials]
Needs root (the lab's network namespaces, for the browser).`;

/** How long the estimate is held down, how low, and how long each round may take to recover. */
const HELD_MS = 4000;
const HELD_BPS = 300_000;
const LIMIT_S = 40;

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: { stuck: { type: 'boolean' }, rounds: { type: 'string' }, 'no-trials': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return null;
  const rounds = Number(values.rounds ?? 5);
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds: ${values.rounds} is not a whole number ≥ 1`);
  return { rounds, trials: !values['no-trials'] };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function stuckCli(argv: string[]): Promise<number> {
  const parsed = labBenchOptions(argv, parseOptions, HELP);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { options } = parsed;
  experiments.downlinkTrials = options.trials;
  const say = (message: string): void => void process.stdout.write(`${message}\n`);
  const lab = await NetLab.create();
  let server: ConclaveServer | undefined;
  const browsers: Browser[] = [];
  const recoveries: (number | null)[] = [];
  try {
    const clip = await writeCameraClip(path.join(lab.workDir, 'camera.y4m'));
    server = await startLabServer(lab);
    const browser = await lab.launchChromium(null, server.url, clip);
    browsers.push(browser);
    const viewport = { width: 1280, height: 720 };
    const people: LabParticipant[] = [];
    for (const name of ['Ana', 'Ben', 'Cy']) people.push(await openLabParticipant(browser, server.url, 'stuck', name, { viewport }));
    const ben = people[1]!;
    const transport = (): types.WebRtcTransport => {
      const peer = [...(server!.rooms.get('stuck')?.peers.values() ?? [])].find((candidate) => candidate.id === ben.id);
      if (!peer) throw new Error('Ben is not in the room');
      return peer.recvTransport;
    };
    const estimateKbps = async (): Promise<number> => Math.round(((await transport().getStats())[0]?.availableOutgoingBitrate ?? 0) / 1000);
    const bothFull = async (): Promise<boolean> => {
      const sight = await ben.look();
      return atFullQuality(sight.video.Ana) && atFullQuality(sight.video.Cy);
    };
    for (let round = 1; round <= options.rounds; round++) {
      // Everyone as the tiles ask, and long enough that the last step up is not taken for a failed one.
      for (let waited = 0; !(await bothFull()) && waited < 90_000; waited += 1000) await pause(1000);
      await pause(15_000);
      const until = Date.now() + HELD_MS;
      while (Date.now() < until) {
        await transport().setMaxOutgoingBitrate(HELD_BPS);
        await pause(300);
      }
      await transport().setMaxOutgoingBitrate(0);
      const released = Date.now();
      const trace: string[] = [];
      let recovery: number | null = null;
      while (Date.now() - released < LIMIT_S * 1000) {
        trace.push(String(await estimateKbps()));
        if (await bothFull()) {
          recovery = Math.round((Date.now() - released) / 100) / 10;
          break;
        }
        await pause(1000);
      }
      recoveries.push(recovery);
      say(
        `round ${round}: ${recovery === null ? `not within ${LIMIT_S} s` : `${recovery} s`} until Ben sees both as asked; his estimate each second, kbit/s: ${trace.join(' ')}`,
      );
    }
  } finally {
    await Promise.allSettled(browsers.map((browser) => browser.close()));
    await server?.close().catch(() => undefined);
    await lab.destroy();
  }
  const done = recoveries.filter((seconds): seconds is number => seconds !== null).sort((a, b) => a - b);
  const median = done.length === recoveries.length ? done[Math.floor((done.length - 1) / 2)] : undefined;
  say(
    `\ntrials ${options.trials ? 'on' : 'off'}: back in ${recoveries.map((seconds) => (seconds === null ? `>${LIMIT_S}` : seconds)).join(', ')} s` +
      (median === undefined ? ` (${recoveries.length - done.length} of ${recoveries.length} not within ${LIMIT_S} s)` : `, median ${median} s`),
  );
  return 0;
}
