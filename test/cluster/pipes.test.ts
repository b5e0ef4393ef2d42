import { createSocket, type Socket } from 'node:dgram';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ClusterAuth } from '../../server/src/cluster/ClusterAuth.js';
import { Cluster } from '../../server/src/cluster/Cluster.js';
import type { PipeSource } from '../../server/src/cluster/ClusterPipes.js';
import { InternalClient, NodeCallError } from '../../server/src/cluster/InternalApi.js';
import { createLogger } from '../../server/src/logger.js';
import { mediaCodecs } from '../../server/src/media/codecs.js';
import { eventually } from '../helpers/server.js';
import { startRedis, type RedisServer } from './redisServer.js';

/**
 * Media between two nodes. Both nodes live in this test process, each a Cluster (its own Redis
 * connection, internal API on 127.0.0.1, registry) with its own mediasoup worker process and router.
 * Node A has a real producer fed with RTP from a UDP socket through a PlainTransport; node B pulls
 * it over a PipeTransport pair with SRTP and consumes it with a DirectTransport.
 */
const SECRET = 'a-cluster-secret-of-at-least-32-characters';
/** Short, so a node that stops heartbeating is gone in about two seconds; not shorter: a busy machine stalls event loops for over a second. */
const TTL_MS = 2000;
const OPUS_PT = 100;
const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', false);

interface TestNode {
  cluster: Cluster;
  worker: types.Worker;
  router: types.Router;
  /** What this node's rooms hold, as findProducer sees it. */
  producers: Map<string, PipeSource>;
}

describe('media between nodes: PipeTransports with SRTP, asked for over the authenticated internal API', () => {
  let redisServer: RedisServer;
  let a: TestNode;
  let b: TestNode;
  let rtpSender: Socket;

  async function startNode(nodeId: string): Promise<TestNode> {
    const worker = await mediasoup.createWorker({ logLevel: 'warn' });
    const router = await worker.createRouter({ mediaCodecs });
    const producers = new Map<string, PipeSource>();
    const cluster = await Cluster.start(
      {
        redisUrl: redisServer.url,
        nodeId,
        secret: SECRET,
        internalIp: '127.0.0.1',
        internalPort: 0,
        pipePorts: { min: 20_000, max: 29_999 },
        publicUrl: `https://${nodeId}.example.test`,
        ttlMs: TTL_MS,
        version: 'test',
        spanRooms: false,
      },
      { load: () => ({ workers: 1, consumers: 0, cpu: 0 }), findProducer: (roomId, producerId) => producers.get(`${roomId}/${producerId}`), log },
    );
    return { cluster, worker, router, producers };
  }

  /** A producer on node A's router, fed 50 Opus packets a second from a UDP socket. */
  async function produceOnA(roomId: string, ssrc: number): Promise<{ producer: types.Producer; stop: () => void }> {
    const transport = await a.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
    const producer = await transport.produce({
      kind: 'audio',
      rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }], encodings: [{ ssrc }] },
      appData: { peerId: 'ana', source: 'mic' },
    });
    a.producers.set(`${roomId}/${producer.id}`, { router: a.router, producer });
    producer.observer.once('close', () => transport.close());
    let sequence = 0;
    const timer = setInterval(() => {
      const packet = Buffer.alloc(12 + 40, 0x55);
      packet[0] = 0x80;
      packet[1] = OPUS_PT;
      packet.writeUInt16BE(sequence & 0xffff, 2);
      packet.writeUInt32BE((sequence * 960) >>> 0, 4);
      packet.writeUInt32BE(ssrc, 8);
      sequence++;
      rtpSender.send(packet, transport.tuple.localPort, '127.0.0.1');
    }, 20);
    return { producer, stop: () => clearInterval(timer) };
  }

  /** A consumer of `producerId` on node B's router, through a DirectTransport; counts what arrives. */
  async function consumeOnB(producerId: string): Promise<{ consumer: types.Consumer; received: () => number }> {
    const transport = await b.router.createDirectTransport();
    const consumer = await transport.consume({ producerId, rtpCapabilities: b.router.rtpCapabilities });
    consumer.observer.once('close', () => transport.close());
    let received = 0;
    consumer.on('rtp', () => received++);
    return { consumer, received: () => received };
  }

  async function packetCount(consumer: types.Consumer): Promise<number> {
    const stats = await consumer.getStats();
    return stats.find((stat) => stat.type === 'outbound-rtp')?.packetCount ?? 0;
  }

  beforeAll(async () => {
    redisServer = await startRedis();
    rtpSender = createSocket('udp4');
    a = await startNode('node-a');
    b = await startNode('node-b');
    // Each has seen the other at a heartbeat.
    await eventually(() => a.cluster.registry.isKnown('node-b') && b.cluster.registry.isKnown('node-a'), { what: 'nodes to see each other' });
  });

  afterAll(async () => {
    rtpSender?.close();
    for (const node of [a, b]) {
      await node?.cluster.close();
      node?.worker.close();
    }
    await redisServer?.stop();
  });

  it('refuses internal API calls not signed with CLUSTER_SECRET, and answers those that are', async () => {
    const address = a.cluster.internal;
    const Ping = z.object({ node: z.string() });
    await expect(new InternalClient(new ClusterAuth(SECRET), 'node-b').call(address, 'ping', {}, Ping)).resolves.toEqual(
      expect.objectContaining({ node: 'node-a' }),
    );

    const wrong = new InternalClient(new ClusterAuth('another-secret-that-is-also-32-characters-long'), 'node-b');
    const refused = await wrong.call(address, 'ping', {}, Ping).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(NodeCallError);
    expect(refused).toMatchObject({ code: 'NOT_AUTHORIZED', status: 401 });

    // No signature, a forged one, and a stale but genuine one.
    const url = `http://${address.ip}:${address.port}/cluster/v1/ping`;
    expect((await fetch(url, { method: 'POST', body: '{}' })).status).toBe(401);
    const forged = `t=${Date.now()},node=node-b,sig=${'0'.repeat(64)}`;
    expect((await fetch(url, { method: 'POST', body: '{}', headers: { [ClusterAuth.header]: forged } })).status).toBe(401);
    const stale = new ClusterAuth(SECRET, () => Date.now() - 60_000);
    const body = stale.seal({}, 'request');
    const { header } = stale.sign('POST', '/cluster/v1/ping', 'node-b', body);
    expect((await fetch(url, { method: 'POST', body: new Uint8Array(body), headers: { [ClusterAuth.header]: header } })).status).toBe(401);
  });

  it("pipes a producer of node A to node B with SRTP; B's consumer receives its packets; once per producer and node; closed with the producer", async () => {
    const { producer, stop } = await produceOnA('design-review', 1111);
    try {
      const pipeTransports: types.Transport[] = [];
      b.router.observer.on('newtransport', (transport) => pipeTransports.push(transport));
      const from = { id: 'node-a', internal: a.cluster.internal };
      const [piped, again] = await Promise.all([
        b.cluster.pipes.pull(from, 'design-review', producer.id, b.router),
        b.cluster.pipes.pull(from, 'design-review', producer.id, b.router),
      ]);
      expect(piped).toBe(again);
      expect(piped.id).toBe(producer.id);
      expect(piped.appData).toMatchObject({ peerId: 'ana', source: 'mic', pipedFrom: 'node-a' });
      expect(a.cluster.pipes.counts).toEqual({ incoming: 0, outgoing: 1 });
      expect(b.cluster.pipes.counts).toEqual({ incoming: 1, outgoing: 0 });
      const [pipe] = pipeTransports;
      expect(pipe?.type).toBe('pipe');
      expect((await (pipe as types.PipeTransport).dump()).srtpParameters?.cryptoSuite).toMatch(/^AEAD_AES_256_GCM|AES_CM_128_HMAC_SHA1_80$/);

      const { consumer, received } = await consumeOnB(producer.id);
      await eventually(async () => (await packetCount(consumer)) > 5, { what: 'packets on B', timeoutMs: 5000 });
      const first = await packetCount(consumer);
      await eventually(async () => (await packetCount(consumer)) >= first + 20, { what: 'more packets on B', timeoutMs: 5000 });
      expect(received()).toBeGreaterThan(20);

      // A pause on A reaches B's copy, and so does the resume.
      await producer.pause();
      await eventually(() => piped.paused, { what: 'paused on B', intervalMs: 20, timeoutMs: 3000 });
      await producer.resume();
      await eventually(() => !piped.paused, { what: 'resumed on B', intervalMs: 20, timeoutMs: 3000 });

      // The producer closes on A: the pipe goes at both ends and B's consumer with it.
      producer.close();
      await eventually(() => consumer.closed && piped.closed, { what: "B's copy to close", intervalMs: 20, timeoutMs: 3000 });
      await eventually(() => a.cluster.pipes.counts.outgoing === 0 && b.cluster.pipes.counts.incoming === 0, { what: 'pipes gone', intervalMs: 20 });
      expect(pipe?.closed).toBe(true);
    } finally {
      stop();
    }
  });

  it('B asking for a producer A does not have gets NOT_FOUND, and nothing is left open', async () => {
    const from = { id: 'node-a', internal: a.cluster.internal };
    await expect(b.cluster.pipes.pull(from, 'design-review', 'no-such-producer', b.router)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await b.router.dump()).transportIds).toEqual([]);
    expect(b.cluster.pipes.counts).toEqual({ incoming: 0, outgoing: 0 });
  });

  it('a pipe B releases closes at both ends', async () => {
    const { producer, stop } = await produceOnA('standup', 2222);
    try {
      const piped = await b.cluster.pipes.pull({ id: 'node-a', internal: a.cluster.internal }, 'standup', producer.id, b.router);
      b.cluster.pipes.release(producer.id);
      await eventually(() => piped.closed && a.cluster.pipes.counts.outgoing === 0, { what: 'released', intervalMs: 20, timeoutMs: 3000 });
      expect(producer.closed).toBe(false);
    } finally {
      producer.close();
      stop();
    }
  });

  it("when node A stops heartbeating (as if killed), B closes A's pipes once A expires", async () => {
    const { producer, stop } = await produceOnA('retro', 3333);
    try {
      const piped = await b.cluster.pipes.pull({ id: 'node-a', internal: a.cluster.internal }, 'retro', producer.id, b.router);
      const { consumer } = await consumeOnB(producer.id);
      await a.cluster.registry.stop({ deregister: false });
      await eventually(() => piped.closed && consumer.closed, { what: "A's pipes closed on B", intervalMs: 50, timeoutMs: 5000 });
      expect(b.cluster.pipes.counts.incoming).toBe(0);
    } finally {
      producer.close();
      stop();
    }
  });
});
