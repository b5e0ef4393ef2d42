import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry, CLUSTER_PROTOCOL, type NodeInfo, type NodeLoad } from '../../server/src/cluster/NodeRegistry.js';
import { leastLoaded, Placement } from '../../server/src/cluster/Placement.js';
import { ClusterUnavailableError, connectRedis } from '../../server/src/cluster/redis.js';
import { RoomDirectory } from '../../server/src/cluster/RoomDirectory.js';
import { createLogger } from '../../server/src/logger.js';
import { eventually } from '../helpers/server.js';
import { startRedis, type RedisServer } from './redisServer.js';

/**
 * Nodes as a cluster sees them, against a real redis-server: each "node" here is the registry,
 * directory and placement of one Conclave node (no media), in this test process, each with its own
 * Redis connection. TTLs are short (1.5 s, heartbeat every 500 ms) so expiry is seen within two
 * seconds, yet long enough that a machine busy with browser tests (event-loop stalls of over a second
 * were seen) does not let a live node's entry lapse.
 */
const TTL_MS = 1500;
const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', false);

interface TestNode {
  id: string;
  redis: Redis;
  registry: NodeRegistry;
  directory: RoomDirectory;
  placement: Placement;
  load: NodeLoad;
}

describe('cluster registry, room directory and placement (real redis-server)', () => {
  let redisServer: RedisServer;
  const nodes: TestNode[] = [];

  beforeAll(async () => {
    redisServer = await startRedis();
  });
  afterAll(async () => {
    await redisServer.stop();
  });
  afterEach(async () => {
    for (const node of nodes.splice(0)) {
      await node.registry.stop();
      node.redis.disconnect();
    }
    const admin = connectRedis(redisServer.url, log);
    await admin.connect();
    await admin.flushdb();
    admin.disconnect();
  });

  async function startNode(id: string, load: Partial<NodeLoad> = {}, accepting = true): Promise<TestNode> {
    const redis = connectRedis(redisServer.url, log);
    await redis.connect();
    const current: NodeLoad = { workers: 2, consumers: 0, cpu: 0, ...load };
    const self: Omit<NodeInfo, 'load'> = {
      id,
      protocol: CLUSTER_PROTOCOL,
      version: 'test',
      publicUrl: `https://${id}.example.test`,
      internal: { ip: '127.0.0.1', port: 3100 },
      accepting,
      startedAt: Date.now(),
    };
    const registry = new NodeRegistry(redis, self, () => current, { ttlMs: TTL_MS, log });
    const directory = new RoomDirectory(redis, registry, log);
    const node = { id, redis, registry, directory, placement: new Placement(redis, registry, directory), load: current };
    nodes.push(node);
    await directory.start();
    await registry.start();
    return node;
  }

  it('lists a registered node with its public URL and load, and forgets it within the TTL once it stops renewing', async () => {
    const a = await startNode('node-a', { consumers: 40 });
    const b = await startNode('node-b');
    const listed = await b.registry.live();
    expect(listed.map((node) => node.id).sort()).toEqual(['node-a', 'node-b']);
    expect(listed.find((node) => node.id === 'node-a')).toMatchObject({ publicUrl: 'https://node-a.example.test', load: { workers: 2, consumers: 40 } });

    // A load change reaches the others with the next heartbeat.
    a.load.consumers = 90;
    await eventually(async () => (await b.registry.live()).find((node) => node.id === 'node-a')?.load.consumers === 90, { what: 'new load' });

    const down: string[] = [];
    b.registry.on('nodeDown', (id) => down.push(id));
    // As a killed node would: no more renewals, and no goodbye.
    await a.registry.stop({ deregister: false });
    const stoppedAt = Date.now();
    await eventually(async () => !(await b.registry.live()).some((node) => node.id === 'node-a'), {
      what: 'node-a to expire',
      intervalMs: 50,
      timeoutMs: 5000,
    });
    expect(Date.now() - stoppedAt).toBeLessThan(TTL_MS + 1000);
    await eventually(() => down.includes('node-a'), { what: 'nodeDown event', intervalMs: 50 });
    expect(b.registry.known().map((node) => node.id)).toEqual(['node-b']);
  });

  it('a clean stop removes the node at once', async () => {
    const a = await startNode('node-a');
    const b = await startNode('node-b');
    await a.registry.stop();
    expect((await b.registry.live()).map((node) => node.id)).toEqual(['node-b']);
  });

  it('knows which nodes host a room and how many participants each has; entries go with their node', async () => {
    const a = await startNode('node-a');
    const b = await startNode('node-b');
    a.directory.record('design-review', 3);
    b.directory.record('design-review', 1);
    a.directory.record('standup', 2);
    await a.directory.flush();
    await b.directory.flush();
    expect((await b.directory.hosts('design-review')).map((host) => [host.node.id, host.participants])).toEqual([
      ['node-a', 3],
      ['node-b', 1],
    ]);

    b.directory.record('design-review', 0);
    await b.directory.flush();
    expect((await a.directory.hosts('design-review')).map((host) => host.node.id)).toEqual(['node-a']);

    await a.registry.stop({ deregister: false });
    await eventually(async () => (await b.directory.hosts('standup')).length === 0, { what: "node-a's rooms to go", intervalMs: 50, timeoutMs: 5000 });
    // The node that saw node-a go also cleared its entries from Redis, not only from its answers.
    await eventually(async () => Object.keys(await b.redis.hgetall('room:design-review')).length === 0, { what: 'entries cleared', intervalMs: 50 });
  });

  it('places a new room on the least-loaded node that takes rooms, and an open room where it already is', async () => {
    const busy = await startNode('node-busy', { workers: 2, consumers: 300 });
    await startNode('node-light', { workers: 4, consumers: 200 });
    await startNode('node-draining', { workers: 2, consumers: 0 }, false);
    const asker = await startNode('node-asker', { workers: 1, consumers: 100 });
    expect((await asker.placement.place('all-hands')).id).toBe('node-light');

    // Two first joins at once, on different nodes, agree.
    const [first, second] = await Promise.all([asker.placement.place('kickoff'), busy.placement.place('kickoff')]);
    expect(first.id).toBe(second.id);

    // A room already open stays on its node, however busy.
    busy.directory.record('retro', 4);
    await busy.directory.flush();
    expect((await asker.placement.place('retro')).id).toBe('node-busy');
  });

  it('leastLoaded: consumers per worker first, then CPU, then id; no workers or not accepting: never', () => {
    const node = (id: string, load: NodeLoad, accepting = true): NodeInfo => ({
      id,
      protocol: CLUSTER_PROTOCOL,
      version: 'test',
      publicUrl: 'https://x.test',
      internal: { ip: '127.0.0.1', port: 1 },
      accepting,
      load,
      startedAt: 0,
    });
    expect(leastLoaded([])).toBeUndefined();
    expect(leastLoaded([node('a', { workers: 0, consumers: 0, cpu: 0 })])).toBeUndefined();
    expect(leastLoaded([node('a', { workers: 1, consumers: 0, cpu: 0 }, false)])).toBeUndefined();
    const nodes = [
      node('c', { workers: 2, consumers: 20, cpu: 0.5 }),
      node('b', { workers: 1, consumers: 10, cpu: 0.2 }),
      node('a', { workers: 1, consumers: 10, cpu: 0.2 }),
    ];
    expect(leastLoaded(nodes)?.id).toBe('a');
    expect(leastLoaded([node('x', { workers: 4, consumers: 100, cpu: 0.1 }), node('y', { workers: 1, consumers: 30, cpu: 0.9 })])?.id).toBe('x');
  });

  it('with Redis killed, directory calls fail with a clear typed error while the node keeps its state; it recovers by itself when Redis is back', async () => {
    const a = await startNode('node-a');
    const b = await startNode('node-b');
    await eventually(() => a.registry.isKnown('node-b'), { what: 'node-a to see node-b', intervalMs: 50 });
    a.directory.record('design-review', 2);
    await a.directory.flush();
    const downs: string[] = [];
    a.registry.on('redisDown', () => downs.push('down'));
    a.registry.on('redisUp', () => downs.push('up'));

    await redisServer.kill();
    const started = Date.now();
    const failure = await a.directory.hosts('design-review').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ClusterUnavailableError);
    expect(failure).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/cluster directory \(Redis\) is unreachable/) });
    expect(Date.now() - started).toBeLessThan(2500);
    await expect(b.placement.place('new-room')).rejects.toBeInstanceOf(ClusterUnavailableError);

    // What the node knows stays; recording never throws; nodes are not declared gone for Redis's sake.
    a.directory.record('design-review', 3);
    await eventually(() => downs.includes('down'), { what: 'redisDown', intervalMs: 50 });
    expect(
      a.registry
        .known()
        .map((node) => node.id)
        .sort(),
    ).toEqual(['node-a', 'node-b']);
    expect(a.registry.redisReachable).toBe(false);

    // An empty Redis comes back (nothing was persisted): the nodes register again and node-a writes its rooms again.
    await redisServer.restart();
    await eventually(() => downs.includes('up'), { what: 'redisUp', intervalMs: 100, timeoutMs: 8000 });
    await eventually(async () => (await b.directory.hosts('design-review').catch(() => []))[0]?.participants === 3, {
      what: 'the room back in the directory',
      intervalMs: 100,
      timeoutMs: 5000,
    });
    // Each node registers again at its own next heartbeat.
    await eventually(async () => (await b.registry.live()).length === 2, { what: 'both nodes registered again', intervalMs: 50, timeoutMs: 5000 });
    expect((await b.placement.place('new-room')).id).toMatch(/^node-[ab]$/);
  });
});
