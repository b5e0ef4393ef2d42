import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium; never a downloaded one. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags verified on these machines (see /work/shared/NOTES.md): fake camera and microphone granted
 * without a prompt, no outside connections, runs as root, sound muted. Shared by the browser tests
 * and the load-test bots.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--mute-audio',
];

export interface LaunchOptions {
  executablePath?: string;
  /** A .y4m or .mjpeg file the fake camera plays (in a loop) instead of its test pattern. */
  videoFile?: string;
  /** More flags after CHROMIUM_ARGS. */
  extraArgs?: string[];
}

export function launchChromium({ executablePath = CHROMIUM_PATH, videoFile, extraArgs = [] }: LaunchOptions = {}): Promise<Browser> {
  const args = [...CHROMIUM_ARGS, ...(videoFile ? [`--use-file-for-fake-video-capture=${videoFile}`] : []), ...extraArgs];
  return chromium.launch({ executablePath, args, headless: true });
}
