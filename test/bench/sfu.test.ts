import { describe, expect, it } from 'vitest';
import { socketDrops, workerWindows, type Reading } from '../../scripts/bench/sfu/measure.js';
import { countPacket, isRtcp, isRtp, sequenceOf, shifted, ssrcOf, timestampOf, windowCounts, type StreamCount } from '../../scripts/bench/sfu/rtp.js';
import { capacity, formatBench, lossShares, parseBenchOptions, type Run, type Step } from '../../scripts/bench/sfu/sfu.js';

function rtp(sequence: number, timestamp: number, ssrc = 1234): Buffer {
  const packet = Buffer.alloc(20);
  packet[0] = 0x80;
  packet[1] = 96;
  packet.writeUInt16BE(sequence, 2);
  packet.writeUInt32BE(timestamp, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

describe('SFU bench: RTP counting', () => {
  it('tells RTP from RTCP', () => {
    expect(isRtp(rtp(1, 2))).toBe(true);
    const senderReport = rtp(1, 2);
    senderReport[1] = 200;
    expect(isRtcp(senderReport)).toBe(true);
    expect(isRtp(senderReport)).toBe(false);
  });

  it('moves sequence numbers and timestamps on, wrapping, without touching the original', () => {
    const original = rtp(65530, 2 ** 32 - 10, 99);
    const copy = shifted(original, 10, 20);
    expect([sequenceOf(copy), timestampOf(copy), ssrcOf(copy)]).toEqual([4, 10, 99]);
    expect(sequenceOf(original)).toBe(65530);
  });

  it('counts packets and unwraps the highest sequence number across 65535 → 0', () => {
    let count: StreamCount | undefined;
    for (const sequence of [65533, 65534, 65535, 0, 2, 1, 3]) count = countPacket(count, sequence);
    expect(count).toEqual({ received: 7, highest: 65539, first: 65533 });
  });

  it('expects, per window, the span of sequence numbers; a stream that started in the window counts from its first packet', () => {
    expect(windowCounts({ received: 10, highest: 109, first: 100 }, { received: 18, highest: 119, first: 100 })).toEqual({ expected: 10, received: 8 });
    expect(windowCounts(undefined, { received: 5, highest: 9, first: 4 })).toEqual({ expected: 6, received: 5 });
  });

  it('reads per-socket drops from /proc/net/udp', () => {
    const table = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  100: 0100007F:9C40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 17',
      '  101: 0100007F:9C41 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 5',
      '  102: 00000000:9C40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 1000',
    ].join('\n');
    expect(socketDrops([0x9c40], table)).toBe(17);
    expect(socketDrops([0x9c40, 0x9c41], table)).toBe(22);
    expect(socketDrops([1], table)).toBe(0);
  });
});

describe('SFU bench: measuring a step', () => {
  const reading = (at: number, counts: [number, StreamCount][], cpu: number[], receiverDrops = 0): Reading => ({
    at,
    snapshot: new Map(counts),
    workerCpuMs: cpu,
    benchCpuMicros: 0,
    receiverDrops,
    ingressDrops: 0,
  });

  it('per worker: packets per second, what was expected, CPU share and cost per packet', () => {
    const before = reading(0, [[1, { received: 100, highest: 100, first: 1 }]], [1000, 500]);
    const after = reading(
      2000,
      [
        [1, { received: 2100, highest: 2100, first: 1 }],
        [2, { received: 990, highest: 1000, first: 1 }],
      ],
      [1500, 500],
    );
    const [w0, w1] = workerWindows(
      before,
      after,
      new Map([
        [1, 0],
        [2, 1],
      ]),
      () => 2,
    );
    expect(w0).toEqual({ worker: 0, consumers: 2, pps: 1000, expected: 2000, received: 2000, cpuPct: 25, cpuMicrosPerPacket: 250 });
    expect(w1).toMatchObject({ worker: 1, pps: 495, expected: 1000, received: 990, cpuPct: 0 });
  });

  it('what went missing is the counters’ fault up to what their sockets dropped, the SFU’s beyond', () => {
    const workers = [{ worker: 0, consumers: 2, pps: 0, expected: 1000, received: 970, cpuPct: 0, cpuMicrosPerPacket: null }];
    expect(lossShares(workers, 10)).toEqual({ sfuLossPct: 2, harnessLossPct: 1 });
    expect(lossShares(workers, 50)).toEqual({ sfuLossPct: 0, harnessLossPct: 3 });
  });

  it('capacity is the last step that passed; the table carries the ratio to bare mediasoup and the reference line', () => {
    const step = (consumersPerWorker: number, passed: boolean, micros: number): Step => ({
      consumersPerWorker,
      setupSeconds: 0.1,
      workers: [{ worker: 0, consumers: consumersPerWorker, pps: consumersPerWorker * 88, expected: 1, received: 1, cpuPct: 50, cpuMicrosPerPacket: micros }],
      benchCpuPct: 10,
      sfuLossPct: passed ? 0 : 5,
      harnessLossPct: 0,
      ingressDrops: 0,
      passed,
    });
    const runs: Run[] = [
      { path: 'conclave', workerCount: 1, steps: [step(400, true, 8), step(800, true, 8), step(1200, false, 9)], stop: 'SFU loss 5.00 % > 1 %' },
      { path: 'mediasoup', workerCount: 1, steps: [step(400, true, 7), step(800, true, 7), step(1200, true, 7)], stop: 'reached the last step' },
    ];
    expect(capacity(runs[0]!)?.consumersPerWorker).toBe(800);
    const table = formatBench(runs, { maxLossPct: 1 });
    expect(table).toContain('| 1 | conclave | 800 | 70400 | 8.0 | SFU loss 5.00 % > 1 % | 0.67 · 1.14 |');
    expect(table).toContain('~500 consumers per worker');
  });

  it('has bounded defaults: 1 and 2 workers, both paths, 1 % loss', () => {
    expect(parseBenchOptions([])).toMatchObject({ workers: [1, 2], paths: ['conclave', 'mediasoup'], maxLossPct: 1, secondsPerRun: 60 });
    expect(() => parseBenchOptions(['--paths', 'janus'])).toThrow(/conclave and\/or mediasoup/);
    expect(parseBenchOptions(['--help'])).toBeNull();
  });
});
