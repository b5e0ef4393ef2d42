import { describe, expect, it } from 'vitest';
import type { OutgoingRtp } from '../../scripts/loadtest/synthetic/MediaLink.js';
import { isVp8KeyframeStart, type MediaTrack } from '../../scripts/loadtest/synthetic/media.js';
import { ntpMiddle, ntpTime, readRtcp, receiverReports, senderReport, transportFeedback } from '../../scripts/loadtest/synthetic/rtcp.js';
import { extensionOffset, StreamReception, TransportFeedback } from '../../scripts/loadtest/synthetic/reception.js';
import { LoopingStream } from '../../scripts/loadtest/synthetic/sending.js';

/** An RTP packet with one-byte header extensions (RFC 8285). */
function rtp({
  sequence,
  timestamp,
  ssrc,
  marker = false,
  extensions = [],
}: {
  sequence: number;
  timestamp: number;
  ssrc: number;
  marker?: boolean;
  extensions?: [number, Buffer][];
}): Buffer {
  const body = Buffer.concat(extensions.map(([id, value]) => Buffer.concat([Buffer.from([(id << 4) | (value.length - 1)]), value])));
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const header = Buffer.alloc(12);
  header.writeUInt8(0x80 | (extensions.length ? 0x10 : 0), 0);
  header.writeUInt8((marker ? 0x80 : 0) | 96, 1);
  header.writeUInt16BE(sequence, 2);
  header.writeUInt32BE(timestamp, 4);
  header.writeUInt32BE(ssrc, 8);
  if (!extensions.length) return Buffer.concat([header, Buffer.from([1, 2, 3])]);
  const profile = Buffer.alloc(4);
  profile.writeUInt16BE(0xbede, 0);
  profile.writeUInt16BE(padded.length / 4, 2);
  return Buffer.concat([header, profile, padded, Buffer.from([1, 2, 3])]);
}

/** Decodes a transport-wide feedback the way a sender does (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1). */
function decodeFeedback(packet: Buffer): { base: number; statuses: number[]; deltasUs: number[]; referenceMs: number; count: number } {
  expect(packet.readUInt8(1)).toBe(205);
  expect(packet.readUInt8(0) & 0x1f).toBe(15);
  expect((packet.readUInt16BE(2) + 1) * 4).toBe(packet.length);
  const base = packet.readUInt16BE(12);
  const total = packet.readUInt16BE(14);
  const referenceMs = packet.readUIntBE(16, 3) * 64;
  const statuses: number[] = [];
  let at = 20;
  while (statuses.length < total) {
    const chunk = packet.readUInt16BE(at);
    at += 2;
    if ((chunk & 0x8000) === 0) {
      const run = chunk & 0x1fff;
      for (let i = 0; i < run && statuses.length < total; i++) statuses.push((chunk >> 13) & 0x3);
    } else {
      const twoBit = (chunk & 0x4000) !== 0;
      for (let i = 0; i < (twoBit ? 7 : 14) && statuses.length < total; i++) statuses.push(twoBit ? (chunk >> (12 - i * 2)) & 0x3 : (chunk >> (13 - i)) & 0x1);
    }
  }
  const deltasUs = statuses
    .filter((status) => status !== 0)
    .map((status) => {
      const value = status === 1 ? packet.readUInt8(at) : packet.readInt16BE(at);
      at += status === 1 ? 1 : 2;
      return value * 250;
    });
  if (packet.readUInt8(0) & 0x20) expect(packet.length - at).toBe(packet.readUInt8(packet.length - 1));
  return { base, statuses, deltasUs, referenceMs, count: packet.readUInt8(19) };
}

describe('synthetic participants: the wire', () => {
  it('finds one-byte header extensions and skips padding', () => {
    const packet = rtp({
      sequence: 1,
      timestamp: 0,
      ssrc: 7,
      extensions: [
        [1, Buffer.from([0x9e])],
        [5, Buffer.from([0x12, 0x34])],
      ],
    });
    expect(packet.readUInt16BE(extensionOffset(packet, 5, 2))).toBe(0x1234);
    expect(packet.readUInt8(extensionOffset(packet, 1))).toBe(0x9e);
    expect(extensionOffset(packet, 1, 2)).toBe(-1); // shorter than asked
    expect(extensionOffset(packet, 3)).toBe(-1);
    expect(extensionOffset(rtp({ sequence: 1, timestamp: 0, ssrc: 7 }), 5)).toBe(-1);
  });

  it('counts loss across a sequence-number wrap, and jitter from arrival against timestamps', () => {
    const reception = new StreamReception(7, 90_000);
    const sequences = [65_530, 65_531, 65_533, 65_534, 65_535, 0, 1, 3];
    sequences.forEach((sequence, index) => reception.onPacket(rtp({ sequence, timestamp: index * 3000, ssrc: 7, marker: true }), index * (100 / 3)));
    expect(reception.expected).toBe(10); // 65530 … 3, unwrapped
    expect(reception.lost).toBe(2); // 65532 and 2
    expect(reception.frames).toBe(8);
    expect(reception.jitter).toBeLessThan(1); // arrivals exactly on the media clock
    const block = reception.reportBlock(1000)!;
    expect(block.cumulativeLost).toBe(2);
    expect(block.extendedHighest).toBe(0x10000 + 3);
    expect(block.fractionLost).toBe(Math.floor((2 * 256) / 10));
    // The next report covers only what came after.
    reception.onPacket(rtp({ sequence: 4, timestamp: 9 * 3000, ssrc: 7 }), 400);
    expect(reception.reportBlock(1100)!.fractionLost).toBe(0);
  });

  it('answers sender reports with LSR and DLSR in receiver reports', () => {
    const reception = new StreamReception(7, 48_000);
    reception.onPacket(rtp({ sequence: 10, timestamp: 0, ssrc: 7 }), 0);
    const sr = senderReport({ ssrc: 7, epochMs: Date.UTC(2026, 11, 1), rtpTimestamp: 1234, packets: 5, octets: 500 });
    const [event] = readRtcp(sr);
    expect(event).toEqual({ type: 'senderReport', ssrc: 7, ntpMiddle: ntpMiddle(ntpTime(Date.UTC(2026, 11, 1))) });
    if (event?.type !== 'senderReport') throw new Error('not a sender report');
    reception.onSenderReport(event.ntpMiddle, 500);
    const [rr] = receiverReports(99, [reception.reportBlock(1500)!]);
    expect(rr!.readUInt8(1)).toBe(201);
    expect(rr!.readUInt32BE(4)).toBe(99);
    expect(rr!.readUInt32BE(8)).toBe(7);
    expect(rr!.readUInt32BE(24)).toBe(event.ntpMiddle);
    expect(rr!.readUInt32BE(28)).toBe(65_536); // one second, in 1/65536 s
  });

  it('splits more than 31 report blocks over several receiver reports', () => {
    const blocks = Array.from({ length: 40 }, (_, ssrc) => ({
      ssrc,
      fractionLost: 0,
      cumulativeLost: 0,
      extendedHighest: 1,
      jitter: 0,
      lastSenderReport: 0,
      delaySinceLastSenderReport: 0,
    }));
    const packets = receiverReports(1, blocks);
    expect(packets.map((packet) => packet.readUInt8(0) & 0x1f)).toEqual([31, 9]);
  });

  it('encodes transport-wide feedback that decodes to the arrivals, missing packets included', () => {
    const arrivals = [
      1000.1,
      1005,
      Number.NaN, // lost
      1070, // 65 ms later: a two-byte delta
      1069, // reordered: negative
      ...Array.from({ length: 9 }, (_, i) => 1070 + i),
    ];
    const decoded = decodeFeedback(transportFeedback(1, 2, 3, 100, arrivals));
    expect(decoded.base).toBe(100);
    expect(decoded.count).toBe(3);
    expect(decoded.statuses.slice(0, 5)).toEqual([1, 1, 0, 2, 2]);
    expect(decoded.statuses).toHaveLength(arrivals.length);
    // Arrival times rebuilt from the reference time and the deltas, within the 250 µs resolution.
    let at = decoded.referenceMs * 1000;
    const rebuilt = decoded.deltasUs.map((delta) => (at += delta) / 1000);
    const received = arrivals.filter((ms) => !Number.isNaN(ms));
    rebuilt.forEach((ms, i) => expect(Math.abs(ms - received[i]!)).toBeLessThanOrEqual(0.25));
  });

  it('feeds back every transport sequence number once, in order, across a wrap', () => {
    const feedback = new TransportFeedback(1);
    for (const sequence of [65_534, 65_535, 1]) feedback.onPacket(sequence, 10);
    const [first] = feedback.take(2);
    expect(decodeFeedback(first!).statuses).toEqual([1, 1, 0, 1]);
    feedback.onPacket(0, 11); // too late: already reported missing
    feedback.onPacket(2, 12);
    const [second] = feedback.take(2);
    expect(decodeFeedback(second!).base).toBe(2);
    expect(feedback.take(2)).toEqual([]);
  });

  it('reads keyframe requests (PLI and FIR) for the stream they name', () => {
    const pli = Buffer.alloc(12);
    pli.writeUInt8(0x81, 0);
    pli.writeUInt8(206, 1);
    pli.writeUInt16BE(2, 2);
    pli.writeUInt32BE(5, 8);
    const fir = Buffer.alloc(20);
    fir.writeUInt8(0x84, 0);
    fir.writeUInt8(206, 1);
    fir.writeUInt16BE(4, 2);
    fir.writeUInt32BE(6, 12);
    expect(readRtcp(Buffer.concat([pli, fir]))).toEqual([
      { type: 'keyframeRequest', ssrc: 5 },
      { type: 'keyframeRequest', ssrc: 6 },
    ]);
  });

  it('tells a VP8 keyframe start from an interframe and from a continuation', () => {
    // Descriptor X|S, I with a 15-bit picture id, then the VP8 payload header (P bit clear: keyframe).
    expect(isVp8KeyframeStart(Buffer.from([0x90, 0x80, 0x80, 0x01, 0x10, 0x02]))).toBe(true);
    expect(isVp8KeyframeStart(Buffer.from([0x90, 0x80, 0x80, 0x01, 0x11, 0x02]))).toBe(false);
    expect(isVp8KeyframeStart(Buffer.from([0x80, 0x80, 0x80, 0x01, 0x10, 0x02]))).toBe(false);
    expect(isVp8KeyframeStart(Buffer.from([0x10, 0x10]))).toBe(true);
  });
});

describe('synthetic participants: a looping stream', () => {
  /** Three frames of two packets, then three more; keyframes begin frames 0 and 3 (30 fps). */
  const track: MediaTrack = {
    kind: 'video',
    mimeType: 'video/VP8',
    payloadType: 96,
    clockRate: 90_000,
    packets: Array.from({ length: 12 }, (_, index) => ({
      marker: index % 2 === 1,
      timestamp: Math.floor(index / 2) * 3000,
      payload: Buffer.from([index]),
      keyframeStart: index === 0 || index === 6,
    })),
    keyframes: [0, 6],
    loopTicks: 6 * 3000,
  };

  function play(): { stream: LoopingStream; sent: OutgoingRtp[]; payloads: number[] } {
    const sent: OutgoingRtp[] = [];
    const payloads: number[] = [];
    const link = {
      sendRtp: (rtp: OutgoingRtp, payload: Buffer) => {
        sent.push(rtp);
        payloads.push(payload[0]!);
      },
      sendRtcp: () => undefined,
    };
    const stream = new LoopingStream(track, 42, 96, link);
    stream.start(0);
    return { stream, sent, payloads };
  }

  it('paces packets by their timestamps and loops with sequence numbers and timestamps carried on', () => {
    const { stream, sent, payloads } = play();
    stream.pump(1);
    expect(payloads).toEqual([0, 1]);
    stream.pump(200 + 1); // one loop (6 frames at 30 fps) later
    expect(payloads).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 1]);
    for (let i = 1; i < sent.length; i++) {
      expect((sent[i]!.sequenceNumber - sent[i - 1]!.sequenceNumber) & 0xffff).toBe(1);
      expect((sent[i]!.timestamp - sent[i - 1]!.timestamp) >>> 0).toBeLessThanOrEqual(3000);
    }
    expect((sent.at(-1)!.timestamp - sent[0]!.timestamp) >>> 0).toBe(6 * 3000);
    expect(sent.every((rtp) => rtp.ssrc === 42 && rtp.payloadType === 96)).toBe(true);
  });

  it('answers a keyframe request with the next frame taken from the nearest keyframe, at the time the skipped frame was due', () => {
    const { stream, sent, payloads } = play();
    stream.pump(34); // frames 0 and 1
    expect(payloads).toEqual([0, 1, 2, 3]);
    stream.requestKeyframe();
    stream.pump(67); // frame 2 is due: the keyframe at packet 6 goes instead
    expect(payloads).toEqual([0, 1, 2, 3, 6, 7]);
    expect((sent[4]!.timestamp - sent[3]!.timestamp) >>> 0).toBe(3000); // time goes on by one frame
    expect(stream.keyframesSent).toBe(2);
  });
});
