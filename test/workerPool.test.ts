import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../server/src/logger.js';
import { mediaCodecs } from '../server/src/media/codecs.js';
import { WorkerPool, type PoolWorker } from '../server/src/media/WorkerPool.js';
import { eventually, isAlive } from './helpers/server.js';

describe('mediasoup worker pool', () => {
  let pool: WorkerPool;

  beforeAll(async () => {
    pool = await WorkerPool.create({
      numWorkers: 2,
      rtcPort: 0,
      listenIp: '127.0.0.1',
      announcedAddress: undefined,
      logLevel: 'warn',
      logger: createLogger('silent', false),
    });
  });

  afterAll(() => pool.close());

  it('starts one live worker process per requested worker, each with a WebRtcServer', () => {
    expect(pool.live).toHaveLength(2);
    const pids = pool.workerPids();
    expect(new Set(pids).size).toBe(2);
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    for (const entry of pool.live) expect(entry.webRtcServer.closed).toBe(false);
  });

  it('places new routers on the least-loaded worker', async () => {
    const first = await pool.createRouter(mediaCodecs);
    const transport = await first.router.createWebRtcTransport({ webRtcServer: first.host.webRtcServer });
    const second = await pool.createRouter(mediaCodecs);
    expect(second.host.index).not.toBe(first.host.index);
    transport.close();
    first.router.close();
    second.router.close();
  });

  it('replaces a worker killed with SIGKILL and routes new routers to live workers', async () => {
    const victim = pool.live[0]!;
    const victimPid = victim.worker.pid;
    const replaced = new Promise<PoolWorker>((resolve) => pool.once('workerReplaced', resolve));
    process.kill(victimPid, 'SIGKILL');

    const replacement = await replaced;
    expect(replacement.index).toBe(victim.index);
    expect(replacement.worker.pid).not.toBe(victimPid);
    await eventually(() => !isAlive(victimPid), { what: 'killed worker to be gone' });
    expect(pool.live).toHaveLength(2);

    for (let i = 0; i < 4; i++) {
      const { router, host } = await pool.createRouter(mediaCodecs);
      expect(host.worker.closed).toBe(false);
      expect(host.worker.pid).not.toBe(victimPid);
      router.close();
    }
  });

  it('leaves no worker process behind when closed', async () => {
    const own = await WorkerPool.create({
      numWorkers: 2,
      rtcPort: 0,
      listenIp: '127.0.0.1',
      announcedAddress: undefined,
      logLevel: 'warn',
      logger: createLogger('silent', false),
    });
    const pids = own.workerPids();
    own.close();
    await eventually(() => pids.every((pid) => !isAlive(pid)), { what: 'workers to exit' });
  });
});
