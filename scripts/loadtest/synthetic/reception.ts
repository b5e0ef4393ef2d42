import { transportFeedback, type ReportBlock } from './rtcp.js';

/**
 * Where a header extension's value starts, if it is there and at least `minimumLength` bytes long;
 * -1 otherwise (RFC 8285 one- and two-byte forms). A number, not an object: it runs for every packet.
 */
export function extensionOffset(packet: Buffer, id: number, minimumLength = 1): number {
  if (!(packet[0]! & 0x10)) return -1;
  const start = 12 + (packet[0]! & 0x0f) * 4;
  if (start + 4 > packet.length) return -1;
  const profile = packet.readUInt16BE(start);
  const end = Math.min(packet.length, start + 4 + packet.readUInt16BE(start + 2) * 4);
  const twoByte = (profile & 0xfff0) === 0x1000;
  if (profile !== 0xbede && !twoByte) return -1;
  for (let at = start + 4; at < end;) {
    const byte = packet[at]!;
    if (byte === 0) {
      at++; // padding
      continue;
    }
    const elementId = twoByte ? byte : byte >> 4;
    const length = twoByte ? packet[at + 1]! : (byte & 0x0f) + 1;
    const value = at + (twoByte ? 2 : 1);
    if (!twoByte && elementId === 15) return -1;
    if (elementId === id) return length >= minimumLength && value + length <= end ? value : -1;
    at = value + length;
  }
  return -1;
}

/** Counts one received RTP stream as a receiver's RTCP must: packets, loss, jitter (RFC 3550 §6.4.1, A.8). */
export class StreamReception {
  packets = 0;
  bytes = 0;
  /** Frames completed (RTP marker bits), video only. */
  frames = 0;
  private firstSequence = -1;
  private highest = -1;
  jitter = 0;
  private lastTransit: number | null = null;
  private reportedExpected = 0;
  private reportedReceived = 0;
  private lastSenderReport: { ntpMiddle: number; atMs: number } | null = null;
  /** performance.now() of the first and latest packet. */
  firstAtMs: number | null = null;
  lastAtMs: number | null = null;

  constructor(
    readonly ssrc: number,
    readonly clockRate: number,
  ) {}

  onPacket(packet: Buffer, arrivalMs: number): void {
    const sequence = packet.readUInt16BE(2);
    if (this.highest < 0) {
      this.firstSequence = sequence;
      this.highest = sequence;
      this.firstAtMs = arrivalMs;
    } else {
      // The unwrapped candidate nearest the highest so far.
      let extended = this.highest - (this.highest % 0x10000) + sequence;
      if (extended < this.highest - 0x8000) extended += 0x10000;
      else if (extended > this.highest + 0x8000) extended -= 0x10000;
      if (extended > this.highest) this.highest = extended;
    }
    this.packets++;
    this.bytes += packet.length;
    this.lastAtMs = arrivalMs;
    if (packet[1]! & 0x80) this.frames++;
    const transit = (arrivalMs * this.clockRate) / 1000 - packet.readUInt32BE(4);
    if (this.lastTransit !== null) {
      let difference = Math.abs(transit - this.lastTransit);
      // A timestamp wrap is not a 13-hour delay.
      if (difference > 2 ** 31) difference = Math.abs(difference - 2 ** 32);
      this.jitter += (difference - this.jitter) / 16;
    }
    this.lastTransit = transit;
  }

  onSenderReport(ntpMiddle: number, atMs: number): void {
    this.lastSenderReport = { ntpMiddle, atMs };
  }

  get expected(): number {
    return this.highest < 0 ? 0 : this.highest - this.firstSequence + 1;
  }

  get lost(): number {
    return Math.max(0, this.expected - this.packets);
  }

  /** The report block for an RR, and the start of the next report's interval. */
  reportBlock(nowMs: number): ReportBlock | null {
    if (this.highest < 0) return null;
    const expectedInterval = this.expected - this.reportedExpected;
    const receivedInterval = this.packets - this.reportedReceived;
    this.reportedExpected = this.expected;
    this.reportedReceived = this.packets;
    const lostInterval = expectedInterval - receivedInterval;
    return {
      ssrc: this.ssrc,
      fractionLost: expectedInterval > 0 && lostInterval > 0 ? Math.floor((lostInterval * 256) / expectedInterval) : 0,
      cumulativeLost: this.lost,
      extendedHighest: this.highest,
      jitter: this.jitter,
      lastSenderReport: this.lastSenderReport?.ntpMiddle ?? 0,
      delaySinceLastSenderReport: this.lastSenderReport ? Math.round(((nowMs - this.lastSenderReport.atMs) / 1000) * 65536) : 0,
    };
  }
}

/** Most arrivals one feedback packet describes (it must fit a datagram). */
const MAX_FEEDBACK_PACKETS = 300; // ~700 bytes at worst: one unfragmented datagram

/**
 * Transport-wide congestion control on the receiving side: every packet's transport sequence number
 * and arrival, fed back every 100 ms so the server's bandwidth estimator sees this receiver as it
 * would a browser.
 */
export class TransportFeedback {
  /** Arrival (ms) by transport sequence number modulo 2^16; NaN: not arrived (or already reported). */
  private readonly arrivals = new Float64Array(0x10000).fill(Number.NaN);
  private nextBase = -1;
  private highest = -1;
  private count = 0;

  constructor(private readonly senderSsrc: number) {}

  onPacket(transportSequence: number, arrivalMs: number): void {
    let extended = transportSequence;
    if (this.highest >= 0) {
      extended = this.highest - (this.highest % 0x10000) + transportSequence;
      if (extended < this.highest - 0x8000) extended += 0x10000;
      else if (extended > this.highest + 0x8000) extended -= 0x10000;
    }
    if (this.nextBase < 0) this.nextBase = extended;
    if (extended < this.nextBase) return; // already reported missing: too late
    if (extended > this.highest) this.highest = extended;
    // A duplicate (a retransmission) keeps the first arrival, as a sender's estimator expects.
    if (Number.isNaN(this.arrivals[extended % 0x10000]!)) this.arrivals[extended % 0x10000] = arrivalMs;
  }

  /** The feedback packets for everything since the last call (none if nothing arrived). */
  take(mediaSsrc: number): Buffer[] {
    const packets: Buffer[] = [];
    while (this.nextBase >= 0 && this.nextBase <= this.highest) {
      const end = Math.min(this.highest, this.nextBase + MAX_FEEDBACK_PACKETS - 1);
      const list = new Float64Array(end - this.nextBase + 1);
      for (let sequence = this.nextBase; sequence <= end; sequence++) {
        list[sequence - this.nextBase] = this.arrivals[sequence % 0x10000]!;
        this.arrivals[sequence % 0x10000] = Number.NaN;
      }
      packets.push(transportFeedback(this.senderSsrc, mediaSsrc, this.count++, this.nextBase, list));
      this.nextBase = end + 1;
    }
    return packets;
  }
}
