import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../server/src/logger.js';
import { mediaCodecs } from '../server/src/media/codecs.js';
import { CrashWatch } from '../server/src/media/CrashWatch.js';
import { WorkerPool, type PoolWorker, type WorkerDeath } from '../server/src/media/WorkerPool.js';
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

  it('hands out a router on a live worker even when every worker dies at that moment', async () => {
    const pids = pool.workerPids();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    // Asked before the pool has heard of either death: the dead ones fail it, a replacement takes it.
    const { router, host } = await pool.createRouter(mediaCodecs);
    expect(host.worker.closed).toBe(false);
    expect(pids).not.toContain(host.worker.pid);
    router.close();
    await eventually(() => pool.live.length === 2, { what: 'both workers replaced' });
  });

  it('reports whose media a worker carried when it died', async () => {
    const deaths: WorkerDeath[] = [];
    const onDeath = (death: WorkerDeath): void => void deaths.push(death);
    pool.on('workerDied', onDeath);
    const { router, host } = await pool.createRouter(mediaCodecs);
    const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
    const rtpParameters = { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 1111 }] };
    await transport.produce({ kind: 'audio', rtpParameters, appData: { peerId: 'speaker' } });
    const gone = await transport.produce({
      kind: 'audio',
      rtpParameters: { ...rtpParameters, encodings: [{ ssrc: 2222 }] },
      appData: { peerId: 'left-before' },
    });
    gone.close();
    const replaced = new Promise((resolve) => pool.once('workerReplaced', resolve));
    process.kill(host.worker.pid, 'SIGKILL');
    await replaced;
    pool.off('workerDied', onDeath);
    expect(deaths).toHaveLength(1);
    expect(deaths[0]).toMatchObject({ index: host.index, replacementDelayMs: 0 });
    expect([...deaths[0]!.peerIds]).toEqual(['speaker']);
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

describe('crash watch', () => {
  const death = (at: number, ...peerIds: string[]) => ({ at, peerIds: new Set(peerIds) });

  it('names the participants whose media was on more than three worker deaths within a minute', () => {
    const watch = new CrashWatch();
    expect(watch.record(death(0, 'ana', 'ben'))).toEqual([]);
    expect(watch.record(death(1000, 'ana', 'cy'))).toEqual([]);
    expect(watch.record(death(2000, 'ana', 'ben'))).toEqual([]);
    expect(watch.record(death(3000, 'ana', 'ben', 'cy'))).toEqual(['ana']);
    // Convicted once: those deaths are spent, and the next one alone proves nothing.
    expect(watch.record(death(4000, 'ben'))).toEqual([]);
  });

  it('forgets deaths older than a minute, ignores deaths without media, and names nobody when nobody was always there', () => {
    const watch = new CrashWatch();
    watch.record(death(0, 'ana'));
    watch.record(death(10_000, 'ana'));
    watch.record(death(20_000, 'ana'));
    expect(watch.record(death(61_000, 'ana'))).toEqual([]); // the first fell out of the window
    expect(watch.record(death(61_500))).toEqual([]); // an empty worker
    expect(watch.record(death(62_000, 'ana'))).toEqual(['ana']);
    const mixed = new CrashWatch();
    for (const [at, who] of [
      [0, 'ana'],
      [1, 'ben'],
      [2, 'ana'],
      [3, 'ben'],
    ] as const)
      expect(mixed.record(death(at, who))).toEqual([]);
  });
});
