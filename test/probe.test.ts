import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAMERA_COLOURS, FFMPEG_PATH, cameraClip, syncClips, type SyncClips } from './helpers/media.js';
import { colourShares, countColours, frameAt, measureAvSync, probe, type AvSync } from './helpers/probe.js';

const run = promisify(execFile);

/**
 * The measuring tools of the recording tests, checked on clips whose answer is known: a recording
 * test that passes must pass because the recording is right, not because the ruler is bent.
 */
// A few seconds on an idle machine; ffmpeg's encodes take far longer beside browser suites on two cores.
describe('the recording probes', { timeout: 120_000 }, () => {
  let dir: string;
  let sync: SyncClips;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'conclave-probe-'));
    // Small pictures: the measurement needs only the mean brightness.
    sync = await syncClips({ width: 160, height: 120 });
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Encodes like a browser's MediaRecorder (VP8 + Opus in WebM): the first input's picture, the second's sound. */
  async function encode(name: string, inputs: string[]): Promise<string> {
    const file = path.join(dir, name);
    await run(FFMPEG_PATH, [
      ...['-v', 'error', '-y', ...inputs],
      ...['-map', '0:v', '-map', '1:a', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-c:a', 'libopus', file],
    ]);
    return file;
  }

  it('measures a clip whose sound and picture are in step as in step, and a shifted one by its shift', async () => {
    const inStep = await encode('in-step.webm', ['-i', sync.video, '-i', sync.audio]);
    // The beeps themselves 200 ms late, in an audio stream that starts with the picture…
    const lateSignal = await encode('late-signal.webm', ['-i', sync.video, '-i', sync.audio, '-af', 'adelay=200']);
    // …or the whole audio stream starting 200 ms after the picture, as the container says.
    const lateStream = await encode('late-stream.webm', ['-i', sync.video, '-itsoffset', '0.2', '-i', sync.audio]);
    const earlyStream = await encode('early-stream.webm', ['-itsoffset', '0.2', '-i', sync.video, '-i', sync.audio]);

    // Half a period late, give or take 10 ms each period (490, 510, 490…): each beep as near to the
    // next flash as to its own — the pairs must not split between +490 and −490.
    const halfLate = await encode('half-late.webm', [
      ...['-i', sync.video, '-f', 'lavfi', '-i'],
      "aevalsrc='if(lt(mod(t-0.49-0.02*mod(floor(t-0.49),2),1),0.1),0.7*sin(2*PI*1000*t),0)':s=48000:d=4",
    ]);

    const measured = await Promise.all([inStep, lateSignal, lateStream, earlyStream, halfLate].map((file) => measureAvSync(file)));
    const [zero, signal, stream, early, half] = measured as [AvSync, AvSync, AvSync, AvSync, AvSync];
    console.log(
      `[probe] median A/V offsets: in step ${zero.medianMs} ms; +200 ms ${signal.medianMs} / ${stream.medianMs} ms; −200 ms ${early.medianMs} ms; half a period ${half.offsetsMs.join(' ')} ms`,
    );
    // Four periods: every flash is found and paired (the first of the late clips has no beep before it).
    expect(zero.flashes).toHaveLength(4);
    expect(zero.offsetsMs).toHaveLength(4);
    expect(Math.abs(zero.medianMs)).toBeLessThanOrEqual(20);
    expect(Math.abs(zero.maxMs)).toBeLessThanOrEqual(35);
    for (const late of [signal, stream]) {
      expect(late.offsetsMs.length).toBeGreaterThanOrEqual(3);
      expect(late.medianMs).toBeGreaterThanOrEqual(180);
      expect(late.medianMs).toBeLessThanOrEqual(220);
    }
    expect(early.medianMs).toBeGreaterThanOrEqual(-220);
    expect(early.medianMs).toBeLessThanOrEqual(-180);
    // Every pair on the same side (+500 or −500, the same on a one-second clock), none on the other.
    expect(half.offsetsMs.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...half.offsetsMs) - Math.min(...half.offsetsMs)).toBeLessThanOrEqual(40);
    expect(Math.abs(half.medianMs)).toBeGreaterThanOrEqual(470);
    // Asked to look around −800 ms, it pairs each flash with the beep before it.
    const previous = await measureAvSync(lateSignal, { aroundMs: -800 });
    expect(previous.medianMs).toBeGreaterThanOrEqual(-820);
    expect(previous.medianMs).toBeLessThanOrEqual(-780);
  });

  it('tells a recording without flashes from one in step', async () => {
    const still = await encode('still.webm', ['-i', await cameraClip('green'), '-i', sync.audio]);
    await expect(measureAvSync(still)).rejects.toThrow(/no flashes/);
  });

  it('reads streams and duration, decodes a frame, and counts which colours fill it', async () => {
    // Red on the left, green on the right for 2 s; then blue (no palette colour) for 1 s.
    const file = path.join(dir, 'colours.webm');
    await run(FFMPEG_PATH, [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red:s=160x120:r=15:d=2', '-f', 'lavfi', '-i', 'color=c=lime:s=160x120:r=15:d=2'],
      ...['-f', 'lavfi', '-i', 'color=c=0x335fd1:s=320x120:r=15:d=1', '-f', 'lavfi', '-i', 'sine=f=440:d=3'],
      ...['-filter_complex', '[0][1]hstack[both];[both][2]concat=n=2:v=1:a=0[v]', '-map', '[v]', '-map', '3:a'],
      ...['-c:v', 'libvpx', '-deadline', 'realtime', '-b:v', '300k', '-c:a', 'libopus', file],
    ]);
    const probed = await probe(file);
    expect(probed.streams.map((stream) => `${stream.type}:${stream.codec}`)).toEqual(['video:vp8', 'audio:opus']);
    expect(probed.streams[0]).toMatchObject({ width: 320, height: 120 });
    expect(probed.durationSeconds).toBeGreaterThan(2.9);
    expect(probed.durationSeconds).toBeLessThan(3.1);

    const both = await frameAt(file, 1, 64, 24);
    expect(both.data).toHaveLength(64 * 24 * 3);
    expect(countColours(both, CAMERA_COLOURS, 0.3)).toEqual(['red', 'green']);
    const shares = colourShares(both, CAMERA_COLOURS);
    expect(shares.red + shares.green).toBeGreaterThan(0.9);
    expect(countColours(both, CAMERA_COLOURS, 0.3, { region: { x: 0, y: 0, width: 32, height: 24 } })).toEqual(['red']);

    const accent = await frameAt(file, 2.5, 64, 24);
    expect(countColours(accent, CAMERA_COLOURS, 0.01)).toEqual([]);
    await expect(frameAt(file, 10, 64, 24)).rejects.toThrow(/no frame/);
  });
});
