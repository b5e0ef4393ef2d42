import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import type { Logger } from '../logger.js';

/**
 * Flags for a headless Chromium that only draws: no sandbox (it runs as the server's user, often
 * root in containers), no GPU, no calls home, audio that plays without a gesture, and no window.
 * `--mute-audio` is not passed: it silences nothing MediaRecorder takes, but nothing needs it.
 */
const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--disable-quic',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--autoplay-policy=no-user-gesture-required',
  // The server's own certificate may be for its public name, not 127.0.0.1.
  '--ignore-certificate-errors',
];

/** Below the media workers and the signalling process: a busy recorder slows itself, never the call. */
const NICENESS = 10;

type CompositorEvents = {
  /** The browser process ended; `expected` when stop() asked for it. */
  exit: [{ code: number | null; signal: NodeJS.Signals | null; expected: boolean }];
};

/**
 * One headless Chromium showing the compositor page (client/recorder.html) for one recording or
 * stream. A process of its own: if it crashes, only that output stops.
 */
export class Compositor extends TypedEmitter<CompositorEvents> {
  private readonly child: ChildProcess;
  private readonly profile: string;
  private stopping = false;
  private exited = false;

  constructor(chromium: string, pageUrl: string, log: Logger) {
    super();
    this.profile = mkdtempSync(path.join(os.tmpdir(), 'conclave-compositor-'));
    this.child = spawn('nice', ['-n', String(NICENESS), chromium, ...CHROMIUM_FLAGS, `--user-data-dir=${this.profile}`, pageUrl], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let lastLines: string[] = [];
    this.child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      lastLines = [...lastLines, ...text.split('\n').filter(Boolean)].slice(-5);
    });
    this.child.on('error', (error) => log.error({ err: error }, 'the compositor browser could not start'));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      // A crashed browser's helpers (renderer, GPU, audio) go with it.
      this.signalGroup('SIGKILL');
      rmSync(this.profile, { recursive: true, force: true });
      if (!this.stopping) log.warn({ code, signal, stderr: lastLines }, 'the compositor browser exited');
      this.emit('exit', { code, signal, expected: this.stopping });
    });
  }

  /** The browser's main process (its group holds the renderer and GPU helpers). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Ends the browser and its helpers: politely, then for certain after `graceMs`. */
  stop(graceMs = 3000): void {
    this.stopping = true;
    if (this.exited) return;
    this.signalGroup('SIGTERM');
    setTimeout(() => {
      if (!this.exited) this.signalGroup('SIGKILL');
    }, graceMs).unref();
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is already gone.
    }
  }
}
