import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../server/src/cluster/redis.js';
import { createLogger } from '../../server/src/logger.js';
import { countPresentedFrames, launchLightChromium, openParticipant, type ParticipantPage } from '../helpers/browser.js';
import { CLIENT_DIST, eventually, isAlive } from '../helpers/server.js';
import { loopbackNode, startRedis, type RedisServer } from './redisServer.js';

/**
 * Issue #18, a node lost without a word: SIGKILL the node a call is on, and its participants come
 * back by themselves on another node — their clients know the live nodes' URLs from the server,
 * try another once theirs stays unreachable, learn there that the cluster no longer counts theirs,
 * and join the room again wherever the cluster now places it. Real node processes over a real
 * redis-server, real Chromium pages.
 */
const ENTRY = path.resolve(import.meta.dirname, '../../dist/server/src/index.js');
/** The node registry's TTL in this test: a killed node is forgotten this long after its last heartbeat. */
const TTL_S = 5;
/** The issue asks for 10 s; the bound leaves a loaded CI machine room, and the time is printed. */
const BACK_WITHIN_MS = 20_000;

interface NodeProcess {
  id: string;
  url: string;
  child: ChildProcess;
  /** The node's mediasoup workers, to be sure none outlives the test. */
  workerPids: number[];
}

async function spawnNode(id: string, redisUrl: string): Promise<NodeProcess> {
  const { url, settings } = await loopbackNode(id, redisUrl, TTL_S);
  const child = spawn(process.execPath, [ENTRY], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HTTP_HOST: '127.0.0.1',
      RTC_PORT: '0',
      NUM_WORKERS: '1',
      CLIENT_DIST,
      RECORDINGS_DIR: mkdtempSync(path.join(os.tmpdir(), 'conclave-failover-')),
      ...settings,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const node: NodeProcess = { id, url, child, workerPids: [] };
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    node.workerPids = [...output.matchAll(/"pid":(\d+)/g)].map((match) => Number(match[1])).filter((pid) => pid !== child.pid);
  });
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await eventually(
    () => output.includes('Conclave is serving') || (child.exitCode !== null ? Promise.reject(new Error(`${id} exited: ${output}`)) : undefined),
    {
      what: `${id} to serve`,
      timeoutMs: 30_000,
    },
  );
  return node;
}

async function clusterNodes(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(/^conclave_cluster_nodes (\d+)$/m.exec(metrics)?.[1] ?? 0);
}

interface Call {
  home: NodeProcess;
  survivor: NodeProcess;
  ana: ParticipantPage;
  ben: ParticipantPage;
  /** Their participant ids in the call before anything happened. */
  before: string[];
}

describe('a cluster node lost during a call', { timeout: 150_000 }, () => {
  let redis: RedisServer;
  let admin: ReturnType<typeof connectRedis>;
  const nodes: NodeProcess[] = [];
  let browser: Browser;

  beforeAll(async () => {
    redis = await startRedis();
    admin = connectRedis(redis.url, createLogger('silent', false));
    await admin.connect();
    browser = await launchLightChromium();
  });
  afterAll(async () => {
    await browser?.close();
    for (const node of nodes) stopNode(node);
    admin?.disconnect();
    await redis?.stop();
  });

  function stopNode(node: NodeProcess): void {
    node.child.kill('SIGKILL');
    for (const pid of node.workerPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }

  /** Two fresh nodes that know each other, and Ana and Ben in a call in `room` on one of them. */
  async function callOnTwoNodes(room: string): Promise<Call> {
    const pair = [await spawnNode(`${room}-a`, redis.url), await spawnNode(`${room}-b`, redis.url)];
    nodes.push(...pair);
    // Each knows the other before anyone joins, so the pages are told both URLs.
    for (const node of pair) await eventually(async () => (await clusterNodes(node.url)) === 2 || undefined, { what: `${node.id} to see both nodes` });
    const ana = await openParticipant(browser, pair[0]!.url, room, 'Ana');
    const ben = await openParticipant(browser, pair[0]!.url, room, 'Ben');
    const homeId = await eventually(async () => Object.keys(await admin.hgetall(`room:${room}`))[0], { what: 'the room in the directory' });
    const home = pair.find((node) => node.id === homeId)!;
    const survivor = pair.find((node) => node !== home)!;
    return { home, survivor, ana, ben, before: [(await ana.state()).self!.id, (await ben.state()).self!.id] };
  }

  /** How long after `since` each of them was in the call again as a new participant (their old place went with the node). */
  async function backInCall({ ana, ben, before }: Call, since: number): Promise<Record<string, number>> {
    const backAt: Record<string, number> = {};
    await eventually(
      async () => {
        for (const page of [ana, ben]) {
          const state = await page.state();
          if (backAt[page.name] === undefined && state.connection === 'joined' && state.self !== null && !before.includes(state.self.id)) {
            backAt[page.name] = Date.now() - since;
          }
        }
        return Object.keys(backAt).length === 2 || undefined;
      },
      { what: 'both to be back in the call', timeoutMs: 60_000, intervalMs: 200 },
    );
    return backAt;
  }

  /** Pages closed and both nodes gone, so the next case's cluster is its own. */
  async function endCall(call: Call): Promise<void> {
    await Promise.all([call.ana.close(), call.ben.close()]);
    for (const node of [call.home, call.survivor]) stopNode(node);
  }

  /** Each of them sees the other's camera playing. */
  async function seeEachOther({ ana, ben }: Call): Promise<void> {
    const ids = { ana: (await ana.state()).self!.id, ben: (await ben.state()).self!.id };
    for (const [viewer, other] of [
      [ana, ids.ben],
      [ben, ids.ana],
    ] as const) {
      await eventually(
        async () => (await viewer.state()).consumers.some((consumer) => consumer.peerId === other && consumer.source === 'camera') || undefined,
        {
          what: `${viewer.name} to receive the other's camera again`,
          timeoutMs: 30_000,
        },
      );
      const frames = await countPresentedFrames(viewer, [other]);
      await eventually(async () => ((await frames())[other] ?? 0) >= 10 || undefined, {
        what: `${viewer.name}'s page to present the other's video`,
        timeoutMs: 30_000,
      });
    }
  }

  it('killed (SIGKILL): its participants are back on the other node by themselves within seconds, and see each other again', async () => {
    const call = await callOnTwoNodes('killed');
    const killedAt = Date.now();
    stopNode(call.home);
    const backAt = await backInCall(call, killedAt);
    console.log(`[failover] ${call.home.id} killed: back on ${call.survivor.id} after Ana ${backAt.Ana} ms, Ben ${backAt.Ben} ms (TTL ${TTL_S} s)`);
    expect(Math.max(backAt.Ana!, backAt.Ben!)).toBeLessThan(BACK_WITHIN_MS);
    expect(Object.keys(await admin.hgetall('room:killed'))).toEqual([call.survivor.id]);
    await seeEachOther(call);
    await endCall(call);
  });

  it('stopped (SIGTERM): its participants move to the other node at once, without waiting for the registry to expire, and see each other again', async () => {
    const call = await callOnTwoNodes('stopped');
    const stoppedAt = Date.now();
    call.home.child.kill('SIGTERM');
    const backAt = await backInCall(call, stoppedAt);
    console.log(`[failover] ${call.home.id} stopped: back on ${call.survivor.id} after Ana ${backAt.Ana} ms, Ben ${backAt.Ben} ms`);
    // Sooner than a lost node's expiry could allow: the stopping node said so and left the registry.
    expect(Math.max(backAt.Ana!, backAt.Ben!)).toBeLessThan(TTL_S * 1000);
    expect(Object.keys(await admin.hgetall('room:stopped'))).toEqual([call.survivor.id]);
    await seeEachOther(call);
    await endCall(call);
  });
});
