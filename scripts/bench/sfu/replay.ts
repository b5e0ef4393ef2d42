import dgram from 'node:dgram';
import type { CapturedStream } from './capture.js';
import { shifted, timestampOf } from './rtp.js';

interface Cursor {
  stream: CapturedStream;
  /** When each packet is due, ms after the loop's start, from its RTP timestamp. */
  due: number[];
  /** One loop's length: first to last packet plus one frame. */
  loopMs: number;
  loopTicks: number;
  next: number;
  loop: number;
}

function cursor(stream: CapturedStream): Cursor {
  const first = timestampOf(stream.packets[0]!);
  const due = stream.packets.map((packet) => (((timestampOf(packet) - first) >>> 0) / stream.clockRate) * 1000);
  // One frame after the last packet: 1/30 s of video, 20 ms of audio.
  const frameTicks = stream.kind === 'video' ? stream.clockRate / 30 : stream.clockRate / 50;
  const loopTicks = ((timestampOf(stream.packets.at(-1)!) - first) >>> 0) + frameTicks;
  return { stream, due, loopMs: (loopTicks / stream.clockRate) * 1000, loopTicks, next: 0, loop: 0 };
}

/**
 * Plays captured RTP in real time, looping with sequence numbers and timestamps carried on so the
 * receiver sees one endless stream, to every target at once (each a producer's PlainTransport).
 */
export class RtpReplayer {
  private readonly cursors: Cursor[];
  private readonly targets: { socket: dgram.Socket; port: number; ip: string }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  /** Packets sent per target, by kind. */
  readonly sent = { audio: 0, video: 0 };

  constructor(streams: CapturedStream[]) {
    this.cursors = streams.map(cursor);
  }

  /** Adds a destination; each gets its own socket, since a comedia transport locks onto its first sender. */
  async addTarget(ip: string, port: number): Promise<void> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.setSendBufferSize(4 * 2 ** 20);
    this.targets.push({ socket, ip, port });
  }

  private pausedAt: number | undefined;
  private resumedAt = 0;
  private flowedMs = 0;

  /** How long media has flowed, pauses excluded (ms). */
  get flowingMs(): number {
    return this.flowedMs + (this.pausedAt === undefined && this.resumedAt > 0 ? performance.now() - this.resumedAt : 0);
  }

  start(): void {
    this.startedAt = performance.now();
    this.resumedAt = this.startedAt;
    this.timer = setInterval(() => this.pump(), 4);
  }

  /** Holds the stream (its clock stops too, so resuming sends no burst): measurements start and end drained. */
  pause(): void {
    if (this.pausedAt !== undefined) return;
    clearInterval(this.timer);
    this.pausedAt = performance.now();
    this.flowedMs += this.pausedAt - this.resumedAt;
  }

  resume(): void {
    if (this.pausedAt === undefined) return;
    this.resumedAt = performance.now();
    this.startedAt += this.resumedAt - this.pausedAt;
    this.pausedAt = undefined;
    this.timer = setInterval(() => this.pump(), 4);
  }

  private pump(): void {
    const elapsed = performance.now() - this.startedAt;
    for (const entry of this.cursors) {
      for (;;) {
        const due = entry.loop * entry.loopMs + entry.due[entry.next]!;
        if (due > elapsed) break;
        const packet = shifted(entry.stream.packets[entry.next]!, entry.loop * entry.stream.packets.length, entry.loop * entry.loopTicks);
        for (const target of this.targets) target.socket.send(packet, target.port, target.ip);
        this.sent[entry.stream.kind]++;
        if (++entry.next === entry.stream.packets.length) {
          entry.next = 0;
          entry.loop++;
        }
      }
    }
  }

  /** Packets per second each target is sent, by kind, from the capture's own rate. */
  get rate(): { audio: number; video: number } {
    const perSecond = (kind: 'audio' | 'video'): number => {
      const entry = this.cursors.find((candidate) => candidate.stream.kind === kind);
      return entry ? (entry.stream.packets.length * 1000) / entry.loopMs : 0;
    };
    return { audio: perSecond('audio'), video: perSecond('video') };
  }

  stop(): void {
    clearInterval(this.timer);
    for (const target of this.targets.splice(0)) target.socket.close();
  }
}
