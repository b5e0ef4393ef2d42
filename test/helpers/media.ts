import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';

const run = promisify(execFile);

export const FFMPEG_PATH = process.env.FFMPEG_PATH ?? '/usr/bin/ffmpeg';

/** RGB of a colour. */
export type Rgb = readonly [number, number, number];

/**
 * Camera colours for participants: far from each other and from the call's own colours (#111
 * background, #335fd1 accent border, white names), so a frame of a recording says whose camera is in it.
 * Green is the one to leave out beside a screen share: Chromium's fake screen is a dark green pattern.
 */
export const CAMERA_COLOURS = {
  red: [255, 0, 0],
  green: [0, 255, 0],
  yellow: [255, 255, 0],
  magenta: [255, 0, 255],
  cyan: [0, 255, 255],
} as const satisfies Record<string, Rgb>;
export type CameraColour = keyof typeof CAMERA_COLOURS;

export interface ClipSize {
  width?: number;
  height?: number;
  frameRate?: number;
}

/**
 * Generated clips live here across runs (named by their parameters), so only the first run pays
 * for ffmpeg; `CONCLAVE_TEST_MEDIA_DIR` moves them.
 */
const CACHE_DIR = process.env.CONCLAVE_TEST_MEDIA_DIR ?? path.join(tmpdir(), 'conclave-test-media');

/** Runs ffmpeg into a temporary name and renames it, so a parallel test file never reads half a clip. */
async function cached(name: string, args: (output: string) => string[]): Promise<string> {
  const file = path.join(CACHE_DIR, name);
  if (existsSync(file)) return file;
  mkdirSync(CACHE_DIR, { recursive: true });
  const partial = `${file}.${process.pid}.${Date.now()}.part${path.extname(name)}`;
  await run(FFMPEG_PATH, ['-hide_banner', '-loglevel', 'error', '-y', ...args(partial)], { maxBuffer: 16 * 1024 * 1024 });
  renameSync(partial, file);
  return file;
}

const hex = ([r, g, b]: Rgb): string => `0x${[r, g, b].map((value) => value.toString(16).padStart(2, '0')).join('')}`;

/**
 * A solid-colour camera for Chromium's `--use-file-for-fake-video-capture` (Y4M, 4:2:0, played in a
 * loop). Two seconds suffice: every frame is the same.
 */
export function cameraClip(colour: CameraColour, { width = 320, height = 240, frameRate = 15 }: ClipSize = {}): Promise<string> {
  const size = `${width}x${height}`;
  return cached(`camera-${colour}-${size}-${frameRate}.y4m`, (output) => [
    ...['-f', 'lavfi', '-i', `color=c=${hex(CAMERA_COLOURS[colour])}:s=${size}:r=${frameRate}:d=2`],
    ...['-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', output],
  ]);
}

/**
 * A moving test pattern (ffmpeg's testsrc2) for Chromium's fake camera, where a test needs video
 * that moves but not any particular size. Three seconds, played in a loop.
 */
export function patternClip({ width = 640, height = 360, frameRate = 20 }: ClipSize = {}): Promise<string> {
  const size = `${width}x${height}`;
  return cached(`pattern-${size}-${frameRate}.y4m`, (output) => [
    ...['-f', 'lavfi', '-i', `testsrc2=s=${size}:r=${frameRate}:d=3`],
    ...['-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', output],
  ]);
}

export interface SyncClipOptions extends ClipSize {
  /** Time between two flashes (and two beeps). */
  periodMs?: number;
  /** How long the screen is white, and the beep sounds. */
  flashMs?: number;
  /** Periods in the file; Chromium loops it, so the pattern repeats seamlessly. */
  periods?: number;
  /** Audio sample rate; Chromium's fake microphone reads 16-bit PCM WAV. */
  sampleRate?: number;
}

export interface SyncClips {
  /** Y4M: black, with full-white frames for `flashMs` at the start of every period. */
  video: string;
  /** WAV (16-bit PCM, mono): silence, with a 1 kHz beep for `flashMs` at the start of every period. */
  audio: string;
  periodMs: number;
  flashMs: number;
}

/**
 * A lip-sync test pattern: a flash and a beep at the same instants, once a period. A recording of
 * someone with these as camera and microphone shows how far its sound is off its picture
 * (`measureAvSync`). Both files last exactly `periods` periods, so their loops stay aligned.
 */
export async function syncClips({
  width = 320,
  height = 240,
  frameRate = 30,
  periodMs = 1000,
  flashMs = 100,
  periods = 4,
  sampleRate = 48_000,
}: SyncClipOptions = {}): Promise<SyncClips> {
  const seconds = (periodMs * periods) / 1000;
  const period = periodMs / 1000;
  const flash = flashMs / 1000;
  // A frame (or sample) is on when its start time falls in the first `flash` of its period; the
  // half-frame nudge keeps rounding from adding a frame.
  const onAt = (t: string): string => `lt(mod(${t}+0.000001,${period}),${flash})`;
  const key = `${width}x${height}-${frameRate}-${periodMs}-${flashMs}-${periods}`;
  const video = await cached(`sync-${key}.y4m`, (output) => [
    ...['-f', 'lavfi', '-i', `color=c=black:s=${width}x${height}:r=${frameRate}:d=${seconds}`],
    ...['-vf', `format=yuv420p,geq=lum='if(${onAt('T')},235,16)':cb=128:cr=128`],
    ...['-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', output],
  ]);
  const audio = await cached(`sync-${periodMs}-${flashMs}-${periods}-${sampleRate}.wav`, (output) => [
    ...['-f', 'lavfi', '-i', `aevalsrc='if(${onAt('t')},0.7*sin(2*PI*1000*t),0)':s=${sampleRate}:d=${seconds}`],
    ...['-ac', '1', '-c:a', 'pcm_s16le', output],
  ]);
  return { video, audio, periodMs, flashMs };
}

declare global {
  interface Window {
    /** A recording of the page's own camera and microphone (`recordCapturedMedia`). */
    __localRecording?: { recorder: MediaRecorder; parts: Blob[] };
  }
}

/**
 * Records, in a participant's own page, what its camera and microphone capture (the live tracks
 * `openParticipant` saw handed out), until the returned function stops it and gives the WebM. The
 * fake devices start their looping files independently, so the flash-and-beep pattern is off by
 * a different amount in every browser: this recording is the reference a recording's offset is
 * measured against.
 */
export async function recordCapturedMedia(page: Page): Promise<() => Promise<Buffer>> {
  await page.evaluate(() => {
    const tracks = (window.__capturedTracks ?? []).filter((track) => track.readyState === 'live');
    const recorder = new MediaRecorder(new MediaStream(tracks), { mimeType: 'video/webm;codecs=vp8,opus' });
    const parts: Blob[] = [];
    recorder.addEventListener('dataavailable', ({ data }) => parts.push(data));
    recorder.start(500);
    window.__localRecording = { recorder, parts };
  });
  return async () => {
    const base64 = await page.evaluate(async () => {
      const local = window.__localRecording;
      if (!local) throw new Error('not recording');
      const stopped = new Promise((resolve) => local.recorder.addEventListener('stop', resolve, { once: true }));
      local.recorder.stop();
      await stopped;
      const bytes = new Uint8Array(await new Blob(local.parts).arrayBuffer());
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(binary);
    });
    return Buffer.from(base64, 'base64');
  };
}
