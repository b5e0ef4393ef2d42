import { createSocket, type Socket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { Cluster } from '../../../server/src/cluster/Cluster.js';
import type { PipeSource } from '../../../server/src/cluster/ClusterPipes.js';
import { createLogger } from '../../../server/src/logger.js';
import { mediaCodecs } from '../../../server/src/media/codecs.js';
import { CLUSTER_SECRET, startRedis, type RedisServer } from '../../../test/cluster/redisServer.js';
import { workerCpuMs } from '../sfu/measure.js';

/**
 * `npm run bench:pipe`: what a producer crossing between two cluster nodes costs. Two nodes in this
 * process — each a Cluster with its own mediasoup worker and router, its internal API on loopback —
 * and a real redis-server. An Opus producer on node A is fed RTP whose payload carries its send
 * time, and consumed by PlainTransports sending plain RTP to a counting UDP socket: on node A itself
 * (direct), then on node B through a pipe (SRTP between the nodes, as in production). For each: the
 * two workers' CPU per packet sent, and the one-way delay from the sending socket to the counting
 * socket; the pipe's cost is the difference.
 */

export const PIPE_HELP = `Usage: npm run bench:pipe -- [options]

  --pps N          packets a second into the producer (default 2000)
  --consumers N    consumers of it on the receiving node (default 1)
  --seconds S      measured seconds per run (default 10)
  --runs N         runs of each path, alternating (default 3)
  --out DIR        where pipe.json goes (default loadtest-results/pipe-<timestamp>)
  --help`;

const OPUS_PT = 100;
const SSRC = 4242;
const log = createLogger('warn', false);

interface Node {
  cluster: Cluster;
  worker: types.Worker;
  router: types.Router;
  producers: Map<string, PipeSource>;
}

export interface PathResult {
  path: 'direct' | 'piped';
  run: number;
  sent: number;
  received: number;
  /** Both workers' CPU over the window, per packet sent, µs. */
  cpuMicrosPerPacket: number;
  delayMs: { p50: number; p95: number; max: number };
}

async function startNode(nodeId: string, redisUrl: string): Promise<Node> {
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  const router = await worker.createRouter({ mediaCodecs });
  const producers = new Map<string, PipeSource>();
  const cluster = await Cluster.start(
    {
      redisUrl,
      nodeId,
      secret: CLUSTER_SECRET,
      internalIp: '127.0.0.1',
      internalPort: 0,
      pipePorts: { min: 20_000, max: 29_999 },
      publicUrl: `https://${nodeId}.bench.test`,
      ttlMs: 6000,
      version: 'bench',
      spanRooms: false,
    },
    { load: () => ({ workers: 1, consumers: 0, cpu: 0 }), findProducer: (roomId, producerId) => producers.get(`${roomId}/${producerId}`), log },
  );
  return { cluster, worker, router, producers };
}

/** Where an RTP packet's payload starts: consumers add header extensions (transport-cc, abs-send-time) of their own. */
function payloadOffset(packet: Buffer): number {
  let offset = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  return offset;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Consumers of `producerId` on `router`, each a PlainTransport sending plain RTP to `receiver`. */
async function consumersTo(router: types.Router, producerId: string, receiver: Socket, count: number, ssrcs: Set<number>): Promise<types.PlainTransport[]> {
  const { port } = receiver.address();
  return Promise.all(
    Array.from({ length: count }, async () => {
      const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
      await transport.connect({ ip: '127.0.0.1', port });
      const consumer = await transport.consume({ producerId, rtpCapabilities: router.rtpCapabilities });
      const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
      if (ssrc !== undefined) ssrcs.add(ssrc);
      return transport;
    }),
  );
}

/** One measured window of one path. */
async function measure(
  a: Node,
  b: Node,
  which: PathResult['path'],
  run: number,
  options: { pps: number; consumers: number; seconds: number },
): Promise<PathResult> {
  const ingress = await a.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
  const producer = await ingress.produce({
    kind: 'audio',
    rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: SSRC }] },
    appData: { peerId: 'bench', source: 'mic' },
  });
  const roomId = `bench-${which}-${run}`;
  a.producers.set(`${roomId}/${producer.id}`, { router: a.router, producer });
  const receiver = createSocket('udp4');
  await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
  const sender = createSocket('udp4');
  const transports: types.Transport[] = [ingress];
  /** The consumers' own SSRCs: bandwidth probes and padding the consumers also send are not counted. */
  const media = new Set<number>();
  try {
    if (which === 'direct') {
      transports.push(...(await consumersTo(a.router, producer.id, receiver, options.consumers, media)));
    } else {
      const piped = await b.cluster.pipes.pull({ id: a.cluster.nodeId, internal: a.cluster.internal }, roomId, producer.id, b.router);
      transports.push(...(await consumersTo(b.router, piped.id, receiver, options.consumers, media)));
    }
    // The window is in send times: a packet counts if it was sent inside it, whenever it arrives.
    const window = { start: 0n, end: 0n };
    let received = 0;
    const delays: number[] = [];
    receiver.on('message', (packet) => {
      if (packet.length < 12 || !media.has(packet.readUInt32BE(8)) || packet.length < payloadOffset(packet) + 8) return;
      const sentAt = packet.readBigUInt64BE(payloadOffset(packet));
      if (window.start === 0n || sentAt < window.start || (window.end !== 0n && sentAt >= window.end)) return;
      received++;
      delays.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
    });
    let sequence = 0;
    let sent = 0;
    const send = (): void => {
      const packet = Buffer.alloc(12 + 60, 0x55);
      packet[0] = 0x80;
      packet[1] = OPUS_PT;
      packet.writeUInt16BE(sequence & 0xffff, 2);
      packet.writeUInt32BE((sequence * 960) >>> 0, 4);
      packet.writeUInt32BE(SSRC, 8);
      const now = process.hrtime.bigint();
      packet.writeBigUInt64BE(now, 12);
      sequence++;
      if (window.start !== 0n && window.end === 0n) sent++;
      sender.send(packet, ingress.tuple.localPort, '127.0.0.1');
    };
    // Packets in small bursts every 5 ms: a steady rate a timer can keep.
    const perTick = Math.max(1, Math.round(options.pps / 200));
    const timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) send();
    }, 5);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const before = await workerCpuMs([a.worker, b.worker]);
      window.start = process.hrtime.bigint();
      await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
      window.end = process.hrtime.bigint();
      const after = await workerCpuMs([a.worker, b.worker]);
      // Stragglers of the window still count.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const cpuMs = after.reduce((sum, value, i) => sum + value - before[i]!, 0);
      delays.sort((x, y) => x - y);
      return {
        path: which,
        run,
        sent,
        received,
        cpuMicrosPerPacket: (cpuMs * 1000) / Math.max(1, sent),
        delayMs: { p50: percentile(delays, 50), p95: percentile(delays, 95), max: delays.at(-1) ?? Number.NaN },
      };
    } finally {
      clearInterval(timer);
    }
  } finally {
    producer.close();
    for (const transport of transports) transport.close();
    sender.close();
    receiver.close();
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
};

export async function pipeCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      pps: { type: 'string', default: '2000' },
      consumers: { type: 'string', default: '1' },
      seconds: { type: 'string', default: '10' },
      runs: { type: 'string', default: '3' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(PIPE_HELP);
    return 0;
  }
  const options = { pps: Number(values.pps), consumers: Number(values.consumers), seconds: Number(values.seconds) };
  const runs = Number(values.runs);
  if (![options.pps, options.consumers, options.seconds, runs].every((value) => Number.isFinite(value) && value > 0)) {
    console.error(`--pps, --consumers, --seconds and --runs take positive numbers\n\n${PIPE_HELP}`);
    return 2;
  }
  let redis: RedisServer | undefined;
  const nodes: Node[] = [];
  try {
    redis = await startRedis();
    nodes.push(await startNode('bench-a', redis.url), await startNode('bench-b', redis.url));
    const [a, b] = nodes as [Node, Node];
    while (!a.cluster.registry.isKnown('bench-b') || !b.cluster.registry.isKnown('bench-a')) await new Promise((resolve) => setTimeout(resolve, 100));
    console.log(
      `bench:pipe — ${options.pps} packets/s of Opus into node A, ${options.consumers} consumer(s), ${options.seconds} s per run, ${runs} run(s) per path`,
    );
    const results: PathResult[] = [];
    for (let run = 1; run <= runs; run++) {
      for (const which of ['direct', 'piped'] as const) {
        const result = await measure(a, b, which, run, options);
        results.push(result);
        const loss = 100 * (1 - result.received / Math.max(1, result.sent * options.consumers));
        console.log(
          `  ${which.padEnd(6)} run ${run}: ${result.cpuMicrosPerPacket.toFixed(1)} µs worker CPU per packet, delay p50 ${result.delayMs.p50.toFixed(2)} ms, p95 ${result.delayMs.p95.toFixed(2)} ms, loss ${loss.toFixed(2)} %`,
        );
      }
    }
    const of = (which: PathResult['path']) => results.filter((result) => result.path === which);
    const summary = {
      direct: {
        cpuMicrosPerPacket: median(of('direct').map((r) => r.cpuMicrosPerPacket)),
        delayP50Ms: median(of('direct').map((r) => r.delayMs.p50)),
        delayP95Ms: median(of('direct').map((r) => r.delayMs.p95)),
      },
      piped: {
        cpuMicrosPerPacket: median(of('piped').map((r) => r.cpuMicrosPerPacket)),
        delayP50Ms: median(of('piped').map((r) => r.delayMs.p50)),
        delayP95Ms: median(of('piped').map((r) => r.delayMs.p95)),
      },
    };
    console.log(
      `medians: direct ${summary.direct.cpuMicrosPerPacket.toFixed(1)} µs/packet, ${summary.direct.delayP50Ms.toFixed(2)} ms p50; piped ${summary.piped.cpuMicrosPerPacket.toFixed(1)} µs/packet, ${summary.piped.delayP50Ms.toFixed(2)} ms p50` +
        ` → the pipe adds ${(summary.piped.cpuMicrosPerPacket - summary.direct.cpuMicrosPerPacket).toFixed(1)} µs of worker CPU per packet (both ends) and ${(summary.piped.delayP50Ms - summary.direct.delayP50Ms).toFixed(2)} ms p50 (${(summary.piped.delayP95Ms - summary.direct.delayP95Ms).toFixed(2)} ms p95)`,
    );
    const outDir = values.out ?? path.join('loadtest-results', `pipe-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'pipe.json'), `${JSON.stringify({ options: { ...options, runs }, results, summary }, null, 2)}\n`);
    console.log(`results: ${path.join(outDir, 'pipe.json')}`);
    return 0;
  } finally {
    for (const node of nodes) {
      await node.cluster.close();
      node.worker.close();
    }
    await redis?.stop();
  }
}
