import { randomBytes } from 'node:crypto';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { ProduceRequest, type ConsumerInfo, type MediaSource } from '../../../shared/protocol.js';
import { parseConfig } from '../../../server/src/config.js';
import { createLogger } from '../../../server/src/logger.js';
import { mediaCodecs } from '../../../server/src/media/codecs.js';
import type { Peer, TransportAppData } from '../../../server/src/rooms/Peer.js';
import type { Room } from '../../../server/src/rooms/Room.js';
import { ConsumerPreferences } from '../../../server/src/session/ConsumerPreferences.js';
import { startServer, type ConclaveServer } from '../../../server/src/server.js';
import type { CapturedStream } from './capture.js';

/**
 * One way of fanning a sender's media out to many receivers on each worker: through Conclave's
 * own rooms, or with bare mediasoup calls. The bench drives both the same way and compares.
 */
export interface FanoutPath {
  readonly name: 'conclave' | 'mediasoup';
  readonly workers: types.Worker[];
  /** Where the sender's RTP goes: one producer transport per worker. */
  readonly targets: { ip: string; port: number }[];
  /** Which worker forwards each consumer SSRC. */
  readonly ssrcWorker: Map<number, number>;
  /** Consumers currently forwarding, per worker. */
  consumers(worker: number): number;
  /** Adds receivers (each an audio and a video consumer) until every worker forwards to `perWorker` consumers. */
  grow(perWorker: number, receiverPorts: number[]): Promise<void>;
  close(): Promise<void>;
}

const LOOPBACK = { protocol: 'udp', ip: '127.0.0.1' } as const;
/**
 * The producers' sockets get a deep receive buffer: on a shared machine a worker can be off the CPU
 * for a few hundred ms, and one input packet dropped there is lost for every consumer at once.
 */
const LOOPBACK_INPUT = { ...LOOPBACK, recvBufferSize: 4 * 2 ** 20 };

/**
 * How consumers reach the counting sockets. By default they encrypt what they send (SRTP with
 * WebRTC's mandatory suite), as for a browser: the per-packet cost that matters; the sockets only
 * read the header, which SRTP leaves in the clear. Plain RTP shows the forwarding cost alone.
 */
export class ReceiverLink {
  private static readonly SUITE = 'AES_CM_128_HMAC_SHA1_80';

  /** `bandwidthEstimation` off: the receivers declare neither transport-cc nor REMB (see `capabilities`). */
  constructor(
    readonly srtp: boolean,
    readonly bandwidthEstimation = true,
  ) {}

  /**
   * What the receivers say they support. The counting sockets never send feedback, so with
   * transport-cc the estimator runs open loop, probing and pacing on timers: work that follows
   * the clock and its own state, not the packets, and varies from run to run. Instruction counts
   * leave it out.
   */
  capabilities(router: types.RtpCapabilities): types.RtpCapabilities {
    if (this.bandwidthEstimation) return router;
    return {
      codecs: router.codecs?.map((codec) => ({
        ...codec,
        rtcpFeedback: codec.rtcpFeedback?.filter((fb) => fb.type !== 'transport-cc' && fb.type !== 'goog-remb'),
      })),
      headerExtensions: router.headerExtensions?.filter((extension) => !/transport-wide-cc|abs-send-time/.test(extension.uri)),
    };
  }

  get transportOptions(): { listenInfo: types.TransportListenInfo; enableSrtp?: boolean; srtpCryptoSuite?: types.SrtpCryptoSuite } {
    return this.srtp ? { listenInfo: LOOPBACK, enableSrtp: true, srtpCryptoSuite: ReceiverLink.SUITE } : { listenInfo: LOOPBACK };
  }

  /** Where a consumer transport sends; with SRTP, also the key it would decrypt the receiver's RTCP with (none comes). */
  tuple(port: number): { ip: string; port: number; srtpParameters?: types.SrtpParameters } {
    const srtpParameters = { cryptoSuite: ReceiverLink.SUITE, keyBase64: randomBytes(30).toString('base64') } as const;
    return this.srtp ? { ip: '127.0.0.1', port, srtpParameters } : { ip: '127.0.0.1', port };
  }
}

const BATCH = 20;

const SOURCE_OF: Record<CapturedStream['kind'], MediaSource> = { video: 'camera', audio: 'mic' };

function rtpParameters(stream: CapturedStream): types.RtpParameters {
  return {
    codecs: [
      { mimeType: stream.mimeType, payloadType: stream.payloadType, clockRate: stream.clockRate, ...(stream.channels ? { channels: stream.channels } : {}) },
    ],
    encodings: [{ ssrc: stream.ssrc }],
    rtcp: { cname: 'conclave-bench', reducedSize: true },
  };
}

/** Runs `task` for 0…count-1, at most BATCH at a time. */
async function inBatches(count: number, task: (index: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < count; start += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => task(start + i)));
  }
}

function portFor(ports: number[], index: number): number {
  return ports[index % ports.length]!;
}

/**
 * (a) Through the project: a real Conclave server (startServer: WorkerPool, RoomRegistry, Room),
 * one room per worker. Each bench participant joins with Room.join and publishes with Room.produce,
 * and newcomers get consumers from Room.consumeExisting, exactly as signalling does; only their
 * transports are swapped for PlainTransports, because a WebRtcTransport needs a browser's ICE and
 * DTLS before it forwards anything.
 */
export class ConclavePath implements FanoutPath {
  readonly name = 'conclave';
  readonly ssrcWorker = new Map<number, number>();
  readonly targets: { ip: string; port: number }[] = [];
  private readonly resumed = new Map<number, number>();
  private joined = 0;

  private constructor(
    private readonly server: ConclaveServer,
    private readonly rooms: Room[],
    private readonly link: ReceiverLink,
  ) {}

  get workers(): types.Worker[] {
    return this.rooms.map((room) => room.host.worker);
  }

  static async create(workerCount: number, media: CapturedStream[], link: ReceiverLink): Promise<ConclavePath> {
    const config = parseConfig({
      PORT: '0',
      HTTP_HOST: '127.0.0.1',
      RTC_PORT: '0',
      NUM_WORKERS: String(workerCount),
      LOG_LEVEL: 'warn',
      MAX_PEERS_PER_ROOM: '10000',
      // One room per worker: spreading a room over workers is measured by the browsers, not here.
      SPREAD_AT_CONSUMERS: '100000',
    });
    const server = await startServer(config, createLogger(config.LOG_LEVEL, false));
    const path = new ConclavePath(server, [], link);
    try {
      for (let index = 0; index < workerCount; index++) {
        // Rooms are placed on the least-loaded worker, so each sender joins before the next room opens.
        const room = await server.rooms.getOrCreate(`bench-${index}`);
        path.rooms.push(room);
        const { peer: sender, send } = await path.join(room, 'sender', undefined);
        for (const stream of media) {
          const request = ProduceRequest.parse({
            transportId: send.id,
            kind: stream.kind,
            source: SOURCE_OF[stream.kind],
            rtpParameters: rtpParameters(stream),
          });
          await room.produce(sender, request);
        }
        path.targets.push({ ip: '127.0.0.1', port: send.tuple.localPort });
      }
      const hosts = new Set(path.rooms.map((room) => room.host.index));
      if (hosts.size !== workerCount) throw new Error(`the rooms landed on ${hosts.size} workers, not ${workerCount}`);
    } catch (error) {
      await server.close();
      throw error;
    }
    return path;
  }

  /** Room.join, then the peer's transports become PlainTransports on the router Room placed it on. */
  private async join(room: Room, name: string, receiverPort: number | undefined): Promise<{ peer: Peer; send: types.PlainTransport<TransportAppData> }> {
    const worker = room.host.index;
    let peer: Peer | undefined;
    // eslint-disable-next-line prefer-const -- notify can run before join() returns, when a const would still be uninitialized
    peer = await room.join({
      displayName: name,
      role: () => 'participant',
      rtpCapabilities: this.link.capabilities(room.router.rtpCapabilities),
      session: {
        connected: true,
        ended: () => undefined,
        record: () => undefined,
        preferences: new ConsumerPreferences(),
        send: (event, payload) => {
          if (event !== 'newConsumer' || !peer) return;
          // What a browser does once it has set up its side: resumeConsumer.
          const info = payload as ConsumerInfo;
          const ssrc = info.rtpParameters.encodings?.[0]?.ssrc;
          if (ssrc !== undefined) this.ssrcWorker.set(ssrc, worker);
          void peer
            .consumer(info.id)
            .resume()
            .then(() => this.resumed.set(worker, (this.resumed.get(worker) ?? 0) + 1));
        },
      },
    });
    const router = room.routers.find((slot) => slot.peerIds.includes(peer.id))?.router ?? room.router;
    const plain = (direction: 'send' | 'recv'): Promise<types.PlainTransport<TransportAppData>> =>
      router.createPlainTransport<TransportAppData>({
        ...(direction === 'send' ? { listenInfo: LOOPBACK_INPUT } : this.link.transportOptions),
        rtcpMux: true,
        comedia: direction === 'send',
        appData: { peerId: peer.id, direction },
      });
    const [send, recv] = await Promise.all([plain('send'), plain('recv')]);
    if (receiverPort !== undefined) await recv.connect(this.link.tuple(receiverPort));
    peer.sendTransport.close();
    peer.recvTransport.close();
    peer.replaceTransports(asPeerTransport(send), asPeerTransport(recv));
    return { peer, send };
  }

  consumers(worker: number): number {
    return this.resumed.get(worker) ?? 0;
  }

  async grow(perWorker: number, receiverPorts: number[]): Promise<void> {
    await Promise.all(
      this.rooms.map(async (room) => {
        const worker = room.host.index;
        const missing = Math.max(0, Math.ceil((perWorker - this.consumers(worker)) / 2));
        await inBatches(missing, async () => {
          const { peer } = await this.join(room, `receiver-${++this.joined}`, portFor(receiverPorts, this.joined));
          await room.consumeExisting(peer);
        });
      }),
    );
    await waitFor(() => this.rooms.every((room) => this.consumers(room.host.index) >= perWorker), 'every consumer to be resumed');
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}

/**
 * Room drives a peer's transports only through what every mediasoup transport has (id, appData,
 * produce, consume, close); the WebRTC-only fields are read by signalling, which the bench does not
 * run. So a PlainTransport stands in for the browser's WebRtcTransport: the one type the bench bends.
 */
function asPeerTransport(transport: types.PlainTransport<TransportAppData>): types.WebRtcTransport<TransportAppData> {
  return transport as unknown as types.WebRtcTransport<TransportAppData>;
}

/** (b) The same fan-out with bare mediasoup: a worker and router each, one PlainTransport per receiver. */
export class MediasoupPath implements FanoutPath {
  readonly name = 'mediasoup';
  readonly ssrcWorker = new Map<number, number>();
  readonly targets: { ip: string; port: number }[] = [];
  private readonly counts: number[];
  private readonly producers: types.Producer[][] = [];
  private joined = 0;

  private constructor(
    readonly workers: types.Worker[],
    private readonly routers: types.Router[],
    private readonly link: ReceiverLink,
  ) {
    this.counts = workers.map(() => 0);
  }

  static async create(workerCount: number, media: CapturedStream[], link: ReceiverLink): Promise<MediasoupPath> {
    const workers = await Promise.all(Array.from({ length: workerCount }, () => mediasoup.createWorker({ logLevel: 'warn' })));
    const routers = await Promise.all(workers.map((worker) => worker.createRouter({ mediaCodecs })));
    const path = new MediasoupPath(workers, routers, link);
    for (const router of routers) {
      const transport = await router.createPlainTransport({ listenInfo: LOOPBACK_INPUT, rtcpMux: true, comedia: true });
      path.producers.push(await Promise.all(media.map((stream) => transport.produce({ kind: stream.kind, rtpParameters: rtpParameters(stream) }))));
      path.targets.push({ ip: '127.0.0.1', port: transport.tuple.localPort });
    }
    return path;
  }

  consumers(worker: number): number {
    return this.counts[worker] ?? 0;
  }

  async grow(perWorker: number, receiverPorts: number[]): Promise<void> {
    await Promise.all(
      this.routers.map(async (router, worker) => {
        const missing = Math.max(0, Math.ceil((perWorker - this.consumers(worker)) / 2));
        await inBatches(missing, async () => {
          const transport = await router.createPlainTransport({ ...this.link.transportOptions, rtcpMux: true, comedia: false });
          await transport.connect(this.link.tuple(portFor(receiverPorts, ++this.joined)));
          for (const producer of this.producers[worker]!) {
            const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: this.link.capabilities(router.rtpCapabilities) });
            const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
            if (ssrc !== undefined) this.ssrcWorker.set(ssrc, worker);
            this.counts[worker]!++;
          }
        });
      }),
    );
  }

  close(): Promise<void> {
    for (const worker of this.workers) worker.close();
    return Promise.resolve();
  }
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
