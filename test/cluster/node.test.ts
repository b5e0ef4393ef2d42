import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, redactConfig } from '../../server/src/config.js';
import { connectRedis } from '../../server/src/cluster/redis.js';
import { createLogger } from '../../server/src/logger.js';
import { TestParticipant, failureOf } from '../helpers/participant.js';
import { eventually, startTestServer, type TestServer } from '../helpers/server.js';
import { loopbackNode, startRedis, type RedisServer } from './redisServer.js';

/** A whole Conclave server as a cluster node (REDIS_URL), and the settings that make one. */
const SECRET = 'a-cluster-secret-of-at-least-32-characters';
const log = createLogger('silent', false);

function configError(env: Record<string, string>): string {
  try {
    parseConfig({ NODE_ENV: 'test', ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return '(accepted)';
}

describe('cluster settings', () => {
  const cluster = { REDIS_URL: 'redis://127.0.0.1:6379', CLUSTER_SECRET: SECRET, INTERNAL_IP: '10.0.0.5', PUBLIC_URL: 'https://node1.example.org' };

  it('without REDIS_URL nothing of the cluster is asked for', () => {
    const config = parseConfig({ NODE_ENV: 'test' });
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.NODE_ID).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*-[0-9a-f]{8}$/);
  });

  it('accepts redis:// and rediss:// with credentials, and keeps the password out of the logged configuration', () => {
    const config = parseConfig({ NODE_ENV: 'test', ...cluster, REDIS_URL: 'rediss://conclave:s3cret-pass@redis.internal:6380/2', NODE_ID: 'node-1' });
    expect(config).toMatchObject({ NODE_ID: 'node-1', INTERNAL_PORT: 3100, PIPE_PORT_MIN: 41000, PIPE_PORT_MAX: 41999, CLUSTER_NODE_TTL_SECONDS: 6 });
    const logged = redactConfig(config);
    expect(logged.REDIS_URL).toBe('rediss://conclave:***@redis.internal:6380/2');
    expect(logged.CLUSTER_SECRET).toBe('***');
    expect(JSON.stringify(logged)).not.toContain('s3cret-pass');
  });

  it('stops with one line for each bad combination', () => {
    expect(configError({ ...cluster, REDIS_URL: 'http://127.0.0.1:6379' })).toMatch(/^Invalid REDIS_URL=.*redis:\/\/ or rediss:\/\//);
    expect(configError({ ...cluster, CLUSTER_SECRET: '' })).toMatch(/^Missing CLUSTER_SECRET: REDIS_URL needs CLUSTER_SECRET/);
    expect(configError({ ...cluster, CLUSTER_SECRET: 'short' })).toMatch(/^Invalid CLUSTER_SECRET=.*at least 32/);
    expect(configError({ ...cluster, INTERNAL_IP: '' })).toMatch(/^Missing INTERNAL_IP: REDIS_URL needs INTERNAL_IP/);
    expect(configError({ ...cluster, INTERNAL_IP: '0.0.0.0' })).toMatch(/^Invalid INTERNAL_IP=.*wildcard/);
    expect(configError({ ...cluster, PUBLIC_URL: '' })).toMatch(/^Missing PUBLIC_URL: REDIS_URL needs PUBLIC_URL/);
    expect(configError({ ...cluster, PIPE_PORT_MIN: '42000', PIPE_PORT_MAX: '41000' })).toMatch(/^Invalid PIPE_PORT_MIN=.*PIPE_PORT_MAX/);
    expect(configError({ ...cluster, NODE_ID: 'no spaces' })).toMatch(/^Invalid NODE_ID=/);
    expect(configError({ CLUSTER_SECRET: SECRET })).toMatch(/^Invalid CLUSTER_SECRET=.*set REDIS_URL too/);
    expect(configError({ INTERNAL_IP: '10.0.0.5' })).toMatch(/^Invalid INTERNAL_IP=.*set REDIS_URL too/);
  });
});

describe('a Conclave server as a cluster node', () => {
  let redisServer: RedisServer;

  beforeAll(async () => {
    redisServer = await startRedis();
  });
  afterAll(async () => {
    await redisServer?.stop();
  });

  function nodeSettings(nodeId: string, redisUrl = redisServer.url): Record<string, string> {
    return {
      REDIS_URL: redisUrl,
      NODE_ID: nodeId,
      CLUSTER_SECRET: SECRET,
      INTERNAL_IP: '127.0.0.1',
      INTERNAL_PORT: '0',
      PIPE_PORT_MIN: '20000',
      PIPE_PORT_MAX: '29999',
      PUBLIC_URL: `https://${nodeId}.example.test`,
      CLUSTER_NODE_TTL_SECONDS: '2',
    };
  }

  it('registers with its public URL and load, writes its rooms into the directory, and leaves cleanly on close', async () => {
    const server = await startTestServer(nodeSettings('node-1'));
    try {
      const cluster = server.cluster;
      if (!cluster) throw new Error('no cluster');
      const [self] = await cluster.registry.live();
      expect(self).toMatchObject({ id: 'node-1', publicUrl: 'https://node-1.example.test', accepting: true, load: { workers: 1 } });
      expect(self?.internal.port).toBe(cluster.internal.port);

      // Its view of the cluster, for the operator's scrape (this machine may read it without a token).
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/^conclave_cluster_redis_up 1$/m);
      expect(metrics).toMatch(/^conclave_cluster_nodes 1$/m);
      expect(metrics).toMatch(/^conclave_cluster_pipes\{direction="in"\} 0$/m);

      // A room opening here shows in the directory.
      const room = await server.rooms.getOrCreate('design-review');
      cluster.directory.record(room.id, 2);
      await cluster.directory.flush();
      expect((await cluster.directory.hosts('design-review')).map((host) => [host.node.id, host.participants])).toEqual([['node-1', 2]]);
      room.close();
      await cluster.directory.flush();
      expect(await cluster.directory.hosts('design-review')).toEqual([]);
    } finally {
      await server.close();
    }
    const admin = connectRedis(redisServer.url, log);
    await admin.connect();
    expect(await admin.smembers('nodes')).toEqual([]);
    expect(await admin.keys('*')).toEqual([]);
    admin.disconnect();
  });

  it('without REDIS_URL the server has no cluster part', async () => {
    const server = await startTestServer();
    try {
      expect(server.cluster).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('refuses to start when Redis refuses the credentials in REDIS_URL', async () => {
    const wrong = redisServer.url.replace(`:${redisServer.password}@`, ':not-the-password@');
    await expect(startTestServer(nodeSettings('node-2', wrong))).rejects.toThrow(/Redis refused the credentials in REDIS_URL/);
  });

  it('starts while Redis is unreachable and joins the cluster once it answers', async () => {
    await redisServer.kill();
    const server = await startTestServer(nodeSettings('node-3'));
    try {
      expect(server.cluster?.registry.redisReachable).toBe(false);
      await redisServer.restart();
      const deadline = Date.now() + 8000;
      while (!server.cluster?.registry.isKnown('node-3') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(server.cluster?.registry.isKnown('node-3')).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('a node at MAX_ROOMS takes no new rooms: a join for a new room there is sent to another node; its own rooms still take joins', async () => {
    const full = await loopbackNode('full-node', redisServer.url, 2);
    const roomy = await loopbackNode('roomy-node', redisServer.url, 2);
    const servers = [await startTestServer({ ...full.settings, MAX_ROOMS: '1' }), await startTestServer(roomy.settings)];
    const people: TestParticipant[] = [];
    try {
      const [fullServer] = servers as [TestServer, TestServer];
      // Its one room, opened here directly; at its next heartbeat the node says it takes no more.
      const ana = await TestParticipant.connect(full.url, 'Ana');
      people.push(ana);
      await fullServer.rooms.getOrCreate('only-room');
      await eventually(async () => (await fullServer.cluster!.registry.live()).find((node) => node.id === 'full-node')?.accepting === false || undefined, {
        what: 'the full node to say so',
      });
      await ana.join('only-room');

      const ben = await TestParticipant.connect(full.url, 'Ben');
      people.push(ben);
      const sent = failureOf(await ben.request('join', { roomId: 'new-room', displayName: 'Ben', rtpCapabilities: ben.joinCapabilities() }));
      expect(sent).toMatchObject({ code: 'REDIRECT', redirect: roomy.url });
      const cy = await TestParticipant.connect(full.url, 'Cy');
      people.push(cy);
      expect((await cy.join('only-room')).participants.map((participant) => participant.displayName)).toEqual(['Ana']);
    } finally {
      for (const person of people) person.socket.disconnect();
      for (const server of servers) await server.close();
    }
  });
});
