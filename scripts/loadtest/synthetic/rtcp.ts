/**
 * The RTCP a synthetic participant sends and reads, written by hand because it is little: sender
 * and receiver reports (RFC 3550 §6.4), transport-wide congestion control feedback
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) and the keyframe requests PLI and FIR
 * (RFC 4585 §6.3.1, RFC 5104 §4.3.1).
 */

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;
const FMT_TWCC = 15;
const FMT_PLI = 1;
const FMT_FIR = 4;

/** Seconds between 1900 (NTP) and 1970 (Unix). */
const NTP_EPOCH_OFFSET = 2_208_988_800;

/** NTP time of `epochMs` as [seconds, fraction]. */
export function ntpTime(epochMs: number): [number, number] {
  const seconds = Math.floor(epochMs / 1000);
  const fraction = Math.floor(((epochMs % 1000) / 1000) * 2 ** 32);
  return [(seconds + NTP_EPOCH_OFFSET) >>> 0, fraction >>> 0];
}

/** The middle 32 bits of an NTP time, as LSR carries it. */
export const ntpMiddle = ([seconds, fraction]: [number, number]): number => (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;

function header(buffer: Buffer, countOrFormat: number, type: number): void {
  buffer.writeUInt8(0x80 | countOrFormat, 0);
  buffer.writeUInt8(type, 1);
  buffer.writeUInt16BE(buffer.length / 4 - 1, 2);
}

export interface SenderReport {
  ssrc: number;
  epochMs: number;
  rtpTimestamp: number;
  packets: number;
  octets: number;
}

export function senderReport(report: SenderReport): Buffer {
  const buffer = Buffer.alloc(28);
  header(buffer, 0, RTCP_SR);
  buffer.writeUInt32BE(report.ssrc, 4);
  const [seconds, fraction] = ntpTime(report.epochMs);
  buffer.writeUInt32BE(seconds, 8);
  buffer.writeUInt32BE(fraction, 12);
  buffer.writeUInt32BE(report.rtpTimestamp >>> 0, 16);
  buffer.writeUInt32BE(report.packets >>> 0, 20);
  buffer.writeUInt32BE(report.octets >>> 0, 24);
  return buffer;
}

export interface ReportBlock {
  ssrc: number;
  /** Lost since the previous report, 0–255 of 256. */
  fractionLost: number;
  cumulativeLost: number;
  extendedHighest: number;
  /** Interarrival jitter, in RTP timestamp units. */
  jitter: number;
  lastSenderReport: number;
  /** Since the last SR, in 1/65536 s. */
  delaySinceLastSenderReport: number;
}

/** Receiver reports for any number of streams (31 per packet, as the count field allows). */
export function receiverReports(senderSsrc: number, blocks: ReportBlock[]): Buffer[] {
  const packets: Buffer[] = [];
  for (let start = 0; start < blocks.length || start === 0; start += 31) {
    const chunk = blocks.slice(start, start + 31);
    const buffer = Buffer.alloc(8 + chunk.length * 24);
    header(buffer, chunk.length, RTCP_RR);
    buffer.writeUInt32BE(senderSsrc >>> 0, 4);
    chunk.forEach((block, index) => {
      const at = 8 + index * 24;
      buffer.writeUInt32BE(block.ssrc >>> 0, at);
      buffer.writeUInt8(Math.max(0, Math.min(255, block.fractionLost)), at + 4);
      buffer.writeIntBE(Math.max(-0x800000, Math.min(0x7fffff, block.cumulativeLost)), at + 5, 3);
      buffer.writeUInt32BE(block.extendedHighest >>> 0, at + 8);
      buffer.writeUInt32BE(Math.max(0, Math.round(block.jitter)) >>> 0, at + 12);
      buffer.writeUInt32BE(block.lastSenderReport >>> 0, at + 16);
      buffer.writeUInt32BE(block.delaySinceLastSenderReport >>> 0, at + 20);
    });
    packets.push(buffer);
    if (blocks.length === 0) break;
  }
  return packets;
}

/**
 * A transport-wide feedback for consecutive transport sequence numbers starting at `base`
 * (16-bit): `arrivals[i]` is when packet base + i arrived (ms, any monotonic clock), NaN if it did
 * not. Status vector chunks of seven 2-bit symbols; deltas in 250 µs, relative to the previous
 * arrival (the first to the reference time).
 */
export function transportFeedback(senderSsrc: number, mediaSsrc: number, feedbackCount: number, base: number, arrivals: ArrayLike<number>): Buffer {
  const count = arrivals.length;
  const chunkCount = Math.ceil(count / 7);
  // Room for the worst case (every delta two bytes); the packet is cut to what was written.
  const buffer = Buffer.alloc(Math.ceil((20 + chunkCount * 2 + count * 2) / 4) * 4);
  let firstArrival = 0;
  for (let index = 0; index < count; index++) {
    if (!Number.isNaN(arrivals[index]!)) {
      firstArrival = arrivals[index]!;
      break;
    }
  }
  const referenceTime = Math.floor((firstArrival * 1000) / 64_000); // in 64 ms
  let previousUs = referenceTime * 64_000;
  let deltaAt = 20 + chunkCount * 2;
  let chunk = 0xc000; // status vector, two-bit symbols
  for (let index = 0; index < count; index++) {
    const arrivalMs = arrivals[index]!;
    let symbol = 0;
    if (!Number.isNaN(arrivalMs)) {
      const ticks = Math.round((arrivalMs * 1000 - previousUs) / 250);
      // Advance by what was encoded, not by the exact time, so rounding does not drift.
      previousUs += ticks * 250;
      if (ticks >= 0 && ticks <= 255) {
        symbol = 1;
        buffer.writeUInt8(ticks, deltaAt++);
      } else {
        symbol = 2;
        const written = Math.max(-0x8000, Math.min(0x7fff, ticks));
        buffer.writeInt16BE(written, deltaAt);
        deltaAt += 2;
        previousUs += (written - ticks) * 250; // a clamped delta: where the sender will think it arrived
      }
    }
    chunk |= symbol << (12 - (index % 7) * 2);
    if (index % 7 === 6 || index === count - 1) {
      buffer.writeUInt16BE(chunk, 20 + Math.floor(index / 7) * 2);
      chunk = 0xc000;
    }
  }
  const packet = buffer.subarray(0, Math.ceil(deltaAt / 4) * 4);
  header(packet, FMT_TWCC, RTCP_RTPFB);
  const padding = packet.length - deltaAt;
  if (padding > 0) {
    // RFC 3550 padding, as libwebrtc sends it: the P bit, and the count in the last byte.
    packet.writeUInt8(packet[0]! | 0x20, 0);
    packet.writeUInt8(padding, packet.length - 1);
  }
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  packet.writeUInt16BE(base & 0xffff, 12);
  packet.writeUInt16BE(count, 14);
  packet.writeUIntBE(referenceTime & 0xffffff, 16, 3);
  packet.writeUInt8(feedbackCount & 0xff, 19);
  return packet;
}

/** What a synthetic participant reacts to in the RTCP it receives. */
export type RtcpEvent = { type: 'senderReport'; ssrc: number; ntpMiddle: number } | { type: 'keyframeRequest'; ssrc: number } | { type: 'other' };

/** Walks a compound RTCP packet. */
export function readRtcp(packet: Buffer): RtcpEvent[] {
  const events: RtcpEvent[] = [];
  for (let offset = 0; offset + 8 <= packet.length;) {
    const first = packet[offset]!;
    const type = packet[offset + 1]!;
    const length = (packet.readUInt16BE(offset + 2) + 1) * 4;
    if ((first & 0xc0) !== 0x80 || offset + length > packet.length) break;
    const format = first & 0x1f;
    if (type === RTCP_SR && length >= 28) {
      const seconds = packet.readUInt32BE(offset + 8);
      const fraction = packet.readUInt32BE(offset + 12);
      events.push({ type: 'senderReport', ssrc: packet.readUInt32BE(offset + 4), ntpMiddle: ntpMiddle([seconds, fraction]) });
    } else if (type === RTCP_PSFB && format === FMT_PLI && length >= 12) {
      events.push({ type: 'keyframeRequest', ssrc: packet.readUInt32BE(offset + 8) });
    } else if (type === RTCP_PSFB && format === FMT_FIR && length >= 20) {
      for (let at = offset + 12; at + 8 <= offset + length; at += 8) events.push({ type: 'keyframeRequest', ssrc: packet.readUInt32BE(at) });
    } else {
      events.push({ type: 'other' });
    }
    offset += length;
  }
  return events;
}
