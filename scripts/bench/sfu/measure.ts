import { readFileSync } from 'node:fs';
import type { types } from 'mediasoup';
import type { Snapshot } from './receivers.js';
import { windowCounts } from './rtp.js';

/**
 * Datagrams the kernel dropped on the loopback UDP sockets bound to `ports`, because their receive
 * buffers were full (the last column of /proc/net/udp). On the receivers' sockets that is the
 * harness falling behind; on a producer's socket it is the worker falling behind.
 */
export function socketDrops(ports: number[], table = readProc('/proc/net/udp')): number {
  const wanted = new Set(ports.map((port) => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`));
  let drops = 0;
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length > 12 && wanted.has(fields[1]!)) drops += Number(fields.at(-1)) || 0;
  }
  return drops;
}

function readProc(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Everything read at one instant, so two of them bound a measurement window. */
export interface Reading {
  /** ms of media flow (pauses excluded) when read. */
  at: number;
  snapshot: Snapshot;
  workerCpuMs: number[];
  benchCpuMicros: number;
  /** Dropped at the receivers' sockets (harness too slow) and at the producers' (worker too slow). */
  receiverDrops: number;
  ingressDrops: number;
}

export async function workerCpuMs(workers: types.Worker[]): Promise<number[]> {
  return Promise.all(
    workers.map(async (worker) => {
      const usage = await worker.getResourceUsage();
      return usage.ru_utime + usage.ru_stime;
    }),
  );
}

/** One worker over a window: what it forwarded and what that cost. */
export interface WorkerWindow {
  worker: number;
  consumers: number;
  /** RTP packets per second that reached the receivers from this worker's consumers. */
  pps: number;
  /** Packets that should have arrived (from sequence numbers) and did, over the window. */
  expected: number;
  received: number;
  /** Worker CPU over the window, % of one core. */
  cpuPct: number;
  /** Worker CPU per forwarded packet, µs: the overhead measure. */
  cpuMicrosPerPacket: number | null;
}

export function workerWindows(before: Reading, after: Reading, ssrcWorker: Map<number, number>, consumers: (worker: number) => number): WorkerWindow[] {
  const seconds = (after.at - before.at) / 1000;
  const totals = after.workerCpuMs.map(() => ({ expected: 0, received: 0 }));
  for (const [ssrc, count] of after.snapshot) {
    const worker = ssrcWorker.get(ssrc);
    if (worker === undefined) continue;
    const { expected, received } = windowCounts(before.snapshot.get(ssrc), count);
    totals[worker]!.expected += expected;
    totals[worker]!.received += received;
  }
  return totals.map(({ expected, received }, worker) => {
    const cpuMs = after.workerCpuMs[worker]! - before.workerCpuMs[worker]!;
    return {
      worker,
      consumers: consumers(worker),
      pps: received / seconds,
      expected,
      received,
      cpuPct: (100 * cpuMs) / (after.at - before.at),
      cpuMicrosPerPacket: received > 0 ? (1000 * cpuMs) / received : null,
    };
  });
}
