import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../logger.js';

/** How an encoder ended: `ok` when ffmpeg exited 0 after its input ended. */
export interface EncoderExit {
  ok: boolean;
  /** The last lines ffmpeg printed, with secrets (the stream key) taken out. */
  error?: string;
}

/**
 * One ffmpeg fed with the compositor's WebM on its standard input: it writes a file or pushes an
 * RTMP stream. Writes wait for the pipe to drain, so a slow disk or network holds the compositor
 * back instead of filling memory. Everything ffmpeg prints passes through `redact` first.
 */
export class Encoder {
  readonly exited: Promise<EncoderExit>;
  /**
   * Resolves when ffmpeg reports its first progress: the output is open (for RTMP, the ingest
   * accepted the connection) and frames are going out. Never resolves if it fails first.
   */
  readonly flowing: Promise<void>;
  private readonly child: ChildProcess;
  private tail: string[] = [];

  constructor(ffmpeg: string, args: string[], redact: (text: string) => string, log: Logger) {
    this.child = spawn(ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-progress', 'pipe:1', '-stats_period', '1', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.flowing = new Promise((resolve) => {
      const stdout = this.child.stdout?.setEncoding('utf8');
      const listen = (text: string): void => {
        if (!text.includes('progress=')) return;
        stdout?.off('data', listen);
        stdout?.resume();
        resolve();
      };
      stdout?.on('data', listen);
    });
    this.child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.tail = [...this.tail, ...redact(text).split('\n').filter(Boolean)].slice(-6);
    });
    // A closed pipe is reported by the exit; the write error itself says nothing more.
    this.child.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        log.error({ err: error }, 'ffmpeg could not start');
        resolve({ ok: false, error: `ffmpeg could not start: ${error.message}` });
      });
      this.child.on('exit', (code, signal) => {
        const ok = code === 0;
        const error = ok ? undefined : this.tail.join(' | ') || `ffmpeg exited (${code ?? signal})`;
        resolve(ok ? { ok } : { ok, error });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves once ffmpeg took the bytes (or is gone: the exit tells why). */
  write(data: Uint8Array): Promise<void> {
    const stdin = this.child.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return Promise.resolve();
    return new Promise((resolve) => {
      if (stdin.write(data)) return resolve();
      const done = (): void => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve();
      };
      stdin.once('drain', done);
      stdin.once('close', done);
    });
  }

  /** Ends the input and waits for ffmpeg to finish the file; killed after `timeoutMs`. */
  async finish(timeoutMs = 15_000): Promise<EncoderExit> {
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** The file: the compositor's VP8/Opus WebM copied into a WebM with duration and an index. */
export function fileArgs(target: string): string[] {
  return ['-f', 'webm', '-i', 'pipe:0', '-map', '0', '-c', 'copy', '-f', 'webm', target];
}

/** The stream: H.264/AAC in FLV, as RTMP ingests (YouTube, Twitch, Bilibili) expect, keyframes every 2 s. */
export function streamArgs(url: string, frameRate: number, videoBitsPerSecond: number): string[] {
  const kbps = Math.round(videoBitsPerSecond / 1000);
  return [
    ...['-f', 'webm', '-probesize', '1000000', '-analyzeduration', '1000000', '-i', 'pipe:0'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-r', String(frameRate), '-g', String(frameRate * 2)],
    ...['-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps * 2}k`],
    ...['-c:a', 'aac', '-b:a', '128k', '-ar', '44100', '-ac', '2'],
    ...['-f', 'flv', url],
  ];
}

/** The ffprobe beside the configured ffmpeg. */
function ffprobeOf(ffmpeg: string): string {
  return path.join(path.dirname(ffmpeg), path.basename(ffmpeg).replace(/ffmpeg/, 'ffprobe'));
}

const run = promisify(execFile);

/** The duration ffprobe reads from a finished file, in seconds (null when it cannot tell). */
export async function probeDuration(ffmpeg: string, file: string): Promise<number | null> {
  try {
    const { stdout } = await run(ffprobeOf(ffmpeg), ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', file], { timeout: 15_000 });
    const seconds = Number.parseFloat(stdout);
    return Number.isFinite(seconds) ? Math.round(seconds * 10) / 10 : null;
  } catch {
    return null;
  }
}

/** Whether the program runs at all: a clear error up front instead of a failed recording. */
export async function canRun(program: string, args: string[]): Promise<boolean> {
  try {
    await run(program, args, { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}
