/** The few RTP header fields the bench reads and rewrites (RFC 3550 §5.1). */

export function isRtcp(packet: Buffer): boolean {
  // RTCP packet types 200–204 (SR, RR, SDES, BYE, APP) land on 72–76 once the marker bit is masked.
  const type = (packet[1] ?? 0) & 0x7f;
  return type >= 72 && type <= 76;
}

export function isRtp(packet: Buffer): boolean {
  return packet.length >= 12 && (packet[0]! & 0xc0) === 0x80 && !isRtcp(packet);
}

export const sequenceOf = (packet: Buffer): number => packet.readUInt16BE(2);
export const timestampOf = (packet: Buffer): number => packet.readUInt32BE(4);
export const ssrcOf = (packet: Buffer): number => packet.readUInt32BE(8);

/** A copy of `packet` with its sequence number and timestamp moved on (both wrap around). */
export function shifted(packet: Buffer, sequenceOffset: number, timestampOffset: number): Buffer {
  const copy = Buffer.from(packet);
  copy.writeUInt16BE((sequenceOf(packet) + sequenceOffset) & 0xffff, 2);
  copy.writeUInt32BE((timestampOf(packet) + timestampOffset) >>> 0, 4);
  return copy;
}

/** Counts what arrives on one RTP stream: packets, and the highest sequence number seen, unwrapped. */
export interface StreamCount {
  received: number;
  /** Extended (unwrapped) highest sequence number. */
  highest: number;
  /** Extended sequence number of the first packet. */
  first: number;
}

/** Records one packet's sequence number into `count` (created on the first packet). */
export function countPacket(count: StreamCount | undefined, sequence: number): StreamCount {
  if (!count) return { received: 1, highest: sequence, first: sequence };
  count.received++;
  // The candidate nearest the highest so far, so a wrap from 65535 to 0 counts as +1.
  const cycle = count.highest - (count.highest & 0xffff);
  let extended = cycle + sequence;
  if (extended < count.highest - 0x8000) extended += 0x10000;
  else if (extended > count.highest + 0x8000) extended -= 0x10000;
  if (extended > count.highest) count.highest = extended;
  return count;
}

/** What should have arrived and what did, between two snapshots of one stream. */
export function windowCounts(before: StreamCount | undefined, after: StreamCount): { expected: number; received: number } {
  if (!before) return { expected: after.highest - after.first + 1, received: after.received };
  return { expected: after.highest - before.highest, received: after.received - before.received };
}
