import { randomInt } from 'node:crypto';
import type { MediaLink, OutgoingRtp } from './MediaLink.js';
import type { MediaTrack } from './media.js';
import { senderReport } from './rtcp.js';

/** Every sending stream of this process, paced by one timer (hundreds of timers would cost more than the packets). */
export class MediaClock {
  private readonly streams = new Set<LoopingStream>();
  private timer: NodeJS.Timeout | undefined;

  add(stream: LoopingStream): void {
    this.streams.add(stream);
    this.timer ??= setInterval(() => {
      const now = performance.now();
      for (const each of this.streams) each.pump(now);
    }, 5);
  }

  remove(stream: LoopingStream): void {
    this.streams.delete(stream);
    if (this.streams.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/** A one-byte header extension a stream carries on every packet. */
export interface StreamExtension {
  id: number;
  value: Buffer;
}

/**
 * One captured track played as an endless live stream: its own SSRC, sequence numbers and
 * timestamps carried on across loops, paced by the capture's timestamps, a keyframe on request
 * (the next frame begins at the nearest keyframe of the capture, as an encoder would make one),
 * and a sender report every second so the server can align simulcast layers.
 */
export class LoopingStream {
  private next = 0;
  /** Media time (RTP ticks since start) of packet 0 of the current pass through the capture. */
  private base = 0;
  private startMs = 0;
  private sequence = randomInt(0, 0xffff);
  private readonly timestampOrigin = randomInt(0, 2 ** 32 - 1);
  private keyframeWanted = false;
  private lastReportMs = 0;
  sentPackets = 0;
  sentOctets = 0;
  keyframesSent = 0;

  /** The header extensions as every packet carries them, built once. */
  private readonly rtpExtensions: { id: number; payload: Buffer }[];

  constructor(
    private readonly track: MediaTrack,
    readonly ssrc: number,
    private readonly payloadType: number,
    private readonly link: Pick<MediaLink, 'sendRtp' | 'sendRtcp'>,
    extensions: StreamExtension[] = [],
  ) {
    this.rtpExtensions = extensions.map(({ id, value }) => ({ id, payload: value }));
  }

  start(now: number): void {
    this.startMs = now;
  }

  requestKeyframe(): void {
    if (this.track.kind === 'video') this.keyframeWanted = true;
  }

  private mediaTicksOf(index: number): number {
    return this.base + this.track.packets[index]!.timestamp;
  }

  pump(now: number): void {
    const { packets, clockRate } = this.track;
    const mediaNow = ((now - this.startMs) * clockRate) / 1000;
    while (this.mediaTicksOf(this.next) <= mediaNow) {
      const startsFrame = this.next === 0 || packets[this.next - 1]!.marker;
      if (this.keyframeWanted && startsFrame) {
        this.keyframeWanted = false;
        if (!packets[this.next]!.keyframeStart) this.jumpToKeyframe();
      }
      const packet = packets[this.next]!;
      if (packet.keyframeStart) this.keyframesSent++;
      const rtp: OutgoingRtp = {
        payloadType: this.payloadType,
        sequenceNumber: this.sequence,
        timestamp: (this.timestampOrigin + this.mediaTicksOf(this.next)) >>> 0,
        ssrc: this.ssrc,
        marker: packet.marker,
        extensions: this.rtpExtensions,
      };
      this.link.sendRtp(rtp, packet.payload);
      this.sequence = (this.sequence + 1) & 0xffff;
      this.sentPackets++;
      this.sentOctets += packet.payload.length;
      if (++this.next === packets.length) {
        this.next = 0;
        this.base += this.track.loopTicks;
      }
    }
    if (now - this.lastReportMs >= 1000 && this.sentPackets > 0) {
      this.lastReportMs = now;
      this.link.sendRtcp(
        senderReport({
          ssrc: this.ssrc,
          epochMs: performance.timeOrigin + now,
          rtpTimestamp: (this.timestampOrigin + Math.round(mediaNow)) >>> 0,
          packets: this.sentPackets,
          octets: this.sentOctets,
        }),
      );
    }
  }

  /** The next frame is the capture's nearest keyframe ahead, shown at the time the skipped-to frame would have been due. */
  private jumpToKeyframe(): void {
    const { keyframes, packets } = this.track;
    const target = keyframes.find((index) => index > this.next) ?? keyframes[0]!;
    this.base = this.mediaTicksOf(this.next) - packets[target]!.timestamp;
    this.next = target;
  }
}
