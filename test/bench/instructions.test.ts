import { describe, expect, it } from 'vitest';
import { selfCostByFunction, shortName, totalInstructions } from '../../scripts/bench/sfu/callgrind.js';
import type { CapturedStream } from '../../scripts/bench/sfu/capture.js';
import { formatInstructions, parseInstructionOptions, splitTimeline, timeline, type Measurement } from '../../scripts/bench/sfu/instructions.js';
import { parseBenchOptions } from '../../scripts/bench/sfu/sfu.js';

function rtp(sequence: number, timestamp: number): Buffer {
  const packet = Buffer.alloc(12);
  packet[0] = 0x80;
  packet.writeUInt16BE(sequence, 2);
  packet.writeUInt32BE(timestamp, 4);
  return packet;
}

/** A zeroed-then-dumped window: main's call into work() still carries calls=0, which is not main's own cost. */
const DUMP = `# callgrind format
events: Ir
summary: 1000

ob=(1) /usr/bin/mediasoup-worker
fl=(1) ???
fn=(1) main
0 10
cfn=(2) RTC::Router::OnTransportProducerRtpPacketReceived()
calls=0 0
0 900

fn=(2)
0 880
+2 10
cfn=(3) RTC::ActiveSpeakerObserver::ReceiveRtpPacket()
calls=4 0
0 10

fn=(3)
* 10

ob=(2) /usr/lib/x86_64-linux-gnu/libc.so.6
fn=(4) 0x0000000000022a60
0 5

totals: 915
`;

describe('SFU bench: instruction counts', () => {
  it('reads the total from the totals line, and each function’s own cost from the dump (adding up to it)', () => {
    expect(totalInstructions(DUMP)).toBe(915);
    const costs = selfCostByFunction(DUMP);
    expect(Object.fromEntries(costs)).toEqual({
      main: 10,
      'RTC::Router::OnTransportProducerRtpPacketReceived()': 890,
      'RTC::ActiveSpeakerObserver::ReceiveRtpPacket()': 10,
      '0x0000000000022a60 (libc.so.6)': 5,
    });
    expect([...costs.values()].reduce((a, b) => a + b, 0)).toBe(totalInstructions(DUMP));
  });

  it('shortens C++ template arguments for the table', () => {
    expect(shortName('RTC::RtpPacket::UpdateMid(std::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)')).toBe(
      'RTC::RtpPacket::UpdateMid(std::basic_string<…> const&)',
    );
  });

  it('merges audio and video by due time, then splits off the warm-up and exactly the measured packets', () => {
    const media: CapturedStream[] = [
      { kind: 'video', mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, ssrc: 1, packets: [0, 3000, 6000, 9000].map((ts, i) => rtp(i, ts)) },
      {
        kind: 'audio',
        mimeType: 'audio/opus',
        payloadType: 100,
        clockRate: 48000,
        channels: 2,
        ssrc: 2,
        packets: [0, 960, 1920, 2880, 3840].map((ts, i) => rtp(i, 1_000_000 + ts)),
      },
    ];
    const entries = timeline(media);
    expect(entries.map((entry) => `${entry.kind[0]}${Math.round(entry.dueMs)}`)).toEqual(['v0', 'a0', 'a20', 'v33', 'a40', 'a60', 'v67', 'a80', 'v100']);
    const { warmup, measured } = splitTimeline(entries, 40, 3);
    expect(warmup).toHaveLength(4);
    expect(measured.map((entry) => `${entry.kind[0]}${Math.round(entry.dueMs)}`)).toEqual(['a40', 'a60', 'v67']);
    expect(() => splitTimeline(entries, 40, 10)).toThrow(/not enough/);
  });

  it('defaults to a small fixed run: 20 consumers, 900 packets, both paths and links, twice', () => {
    expect(parseInstructionOptions(['--instructions'])).toMatchObject({
      consumers: 20,
      packets: 900,
      repeats: 2,
      paths: ['conclave', 'mediasoup'],
      links: ['srtp', 'plain'],
      collect: false,
    });
    expect(parseInstructionOptions(['--instructions', '--links', 'plain', '--callgrind-collect'])).toMatchObject({ links: ['plain'], collect: true });
    expect(() => parseInstructionOptions(['--consumers', '21'])).toThrow(/even/);
    expect(() => parseInstructionOptions(['--links', 'dtls'])).toThrow(/srtp and\/or plain/);
    expect(() => parseInstructionOptions(['--workers', '2'])).toThrow();
    // The wall-clock mode stays the default.
    expect(parseBenchOptions([])).toMatchObject({ workers: [1, 2] });
  });

  it('tables each run per forwarded packet, the spread, and Conclave over bare mediasoup', () => {
    const m = (path: Measurement['path'], repeat: number, instructions: number): Measurement => ({
      path,
      link: 'srtp',
      repeat,
      instructions,
      inputPackets: 100,
      forwarded: 1000,
      expected: 1000,
      setupSeconds: 3,
      seconds: 5,
    });
    const table = formatInstructions(
      [m('conclave', 1, 21_000_000), m('mediasoup', 1, 20_000_000), m('conclave', 2, 21_000_000), m('mediasoup', 2, 20_200_000)],
      2,
    );
    expect(table).toContain('| srtp | conclave | 21,000.0 · 21,000.0 | 0.000 % | **21,000** | 210,000 | 1000/1000 · 1000/1000 | 1.045 |');
    expect(table).toContain('| srtp | mediasoup | 20,000.0 · 20,200.0 | 0.995 % | **20,100** | 201,000 | 1000/1000 · 1000/1000 | – |');
  });
});
