import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../server/src/cluster/redis.js';
import { createLogger } from '../../server/src/logger.js';
import { countPresentedFrames, openParticipant, type ParticipantPage } from '../helpers/browser.js';
import { patternClip } from '../helpers/media.js';
import { NetLab, netlabUnavailable, type LabHost } from '../helpers/netlab.js';
import { CLIENT_DIST, eventually, isAlive } from '../helpers/server.js';
import { CLUSTER_SECRET, startRedis, type RedisServer } from './redisServer.js';

/**
 * Issue #18 on hosts of their own: Conclave nodes each in its own network namespace with its own
 * address (test/helpers/netlab.ts), a real redis-server on the lab's gateway, Chromium pages in the
 * root namespace. People who open the room at different nodes meet on the room's node (a join
 * elsewhere is redirected), see each other and chat. That node lost without a word (SIGKILL): its
 * participants come back by themselves on another node — their clients know the live nodes' URLs,
 * try another once theirs stays unreachable, learn there that the cluster no longer counts it, and
 * join the room again wherever the cluster now places it. That node stopped (SIGTERM): it leaves
 * the cluster and says so first, and they move at once.
 */
const SKIP = netlabUnavailable();
if (SKIP) console.warn(`[cluster] skipped: ${SKIP}`);

const ENTRY = path.resolve(import.meta.dirname, '../../dist/server/src/index.js');
const HTTP_PORT = 3000;
const METRICS_TOKEN = 'cluster-test-metrics-token';
/** The node registry's TTL here: a killed node is forgotten this long after its last heartbeat. */
const TTL_S = 5;
/** The issue asks for 10 s; the bound leaves a loaded CI machine room, and the time is printed. */
const BACK_WITHIN_MS = 20_000;

interface NodeProcess {
  id: string;
  url: string;
  child: ChildProcess;
  /** Its mediasoup workers, so none outlives the test. */
  workerPids: number[];
}

interface Call {
  nodes: NodeProcess[];
  home: NodeProcess;
  people: ParticipantPage[];
  /** Their participant ids before anything happened. */
  before: string[];
}

describe.skipIf(SKIP !== undefined)(
  `cluster nodes on hosts of their own (network namespaces)${SKIP ? ` — skipped: ${SKIP}` : ''}`,
  { timeout: 150_000 },
  () => {
    let lab: NetLab;
    let redis: RedisServer;
    let admin: ReturnType<typeof connectRedis>;
    const started: NodeProcess[] = [];
    const browsers: Browser[] = [];

    beforeAll(async () => {
      lab = await NetLab.create();
      redis = await startRedis(undefined, lab.gateway);
      admin = connectRedis(redis.url, createLogger('silent', false));
      await admin.connect();
    });
    afterAll(async () => {
      for (const browser of browsers) await browser.close().catch(() => undefined);
      for (const node of started) stop(node);
      admin?.disconnect();
      await redis?.stop();
      await lab?.destroy();
    });

    function stop(node: NodeProcess): void {
      node.child.kill('SIGKILL');
      for (const pid of node.workerPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }

    /** A Conclave node on a host of its own: every address it has or announces is the host's. */
    async function startNode(host: LabHost): Promise<NodeProcess> {
      const url = `http://${host.address}:${HTTP_PORT}`;
      const child = spawn('ip', ['netns', 'exec', host.namespace, process.execPath, ENTRY], {
        env: {
          ...process.env,
          NODE_ENV: 'test',
          LOG_LEVEL: 'info',
          PORT: String(HTTP_PORT),
          HTTP_HOST: host.address,
          LISTEN_IP: host.address,
          ANNOUNCED_IP: host.address,
          NUM_WORKERS: '1',
          CLIENT_DIST,
          RECORDINGS_DIR: mkdtempSync(path.join(os.tmpdir(), 'conclave-cluster-')),
          REDIS_URL: `redis://:${redis.password}@${lab.gateway}:${redis.port}`,
          NODE_ID: host.name,
          CLUSTER_SECRET,
          INTERNAL_IP: host.address,
          PUBLIC_URL: url,
          CLUSTER_NODE_TTL_SECONDS: String(TTL_S),
          // Read from the root namespace, which is not the node's own machine.
          METRICS_TOKEN,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const node: NodeProcess = { id: host.name, url, child, workerPids: [] };
      started.push(node);
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        node.workerPids = [...output.matchAll(/"pid":(\d+)/g)].map((match) => Number(match[1])).filter((pid) => pid !== child.pid);
      });
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await eventually(
        () => output.includes('Conclave is serving') || (child.exitCode !== null ? Promise.reject(new Error(`${host.name} exited: ${output}`)) : undefined),
        {
          what: `${host.name} to serve`,
          timeoutMs: 30_000,
        },
      );
      return node;
    }

    /** `count` fresh nodes on hosts of their own that know each other, and one person per node opening `room` there. */
    async function callAcrossNodes(room: string, count: number): Promise<Call> {
      const hosts = await Promise.all(Array.from({ length: count }, (_, i) => lab.addHost(`${room}${i + 1}`)));
      const nodes = await Promise.all(hosts.map((host) => startNode(host)));
      // Each knows the others before anyone joins, so the pages are told every URL.
      for (const node of nodes) await eventually(async () => (await liveNodes(node)) === count || undefined, { what: `${node.id} to see ${count} nodes` });
      const browser = await lab.launchChromium(null, nodes.map((node) => node.url).join(','), await patternClip());
      browsers.push(browser);
      const people: ParticipantPage[] = [];
      for (const [i, name] of ['Ana', 'Ben', 'Cy'].slice(0, count).entries()) people.push(await openParticipant(browser, nodes[i]!.url, room, name));
      const homeId = await eventually(async () => Object.keys(await admin.hgetall(`room:${room}`))[0], { what: 'the room in the directory' });
      const home = nodes.find((node) => node.id === homeId)!;
      // Everyone is on the room's node, whichever node they opened.
      expect(await admin.hgetall(`room:${room}`)).toEqual({ [home.id]: String(count) });
      const before = await Promise.all(people.map(async (page) => (await page.state()).self!.id));
      return { nodes, home, people, before };
    }

    /** Pages closed and the call's nodes gone, so the next case's cluster is its own. */
    async function endCall(call: Call): Promise<void> {
      await Promise.all(call.people.map((page) => page.close()));
      // Stopped cleanly, the nodes leave the registry at once (a killed one's entry expires by itself).
      await Promise.all(
        call.nodes.map(async (node) => {
          if (node.child.exitCode !== null || node.child.signalCode !== null) return;
          const exited = new Promise((resolve) => node.child.once('exit', resolve));
          node.child.kill('SIGTERM');
          await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
          stop(node);
        }),
      );
      const keys = call.nodes.map((node) => `node:${node.id}`);
      await eventually(async () => (await admin.exists(...keys)) === 0 || undefined, {
        what: "the call's nodes to leave the registry",
        timeoutMs: (TTL_S + 2) * 1000,
      });
    }

    /** How long after `since` each was in the call again as a new participant (their old place went with the node). */
    async function backInCall({ people, before }: Call, since: number): Promise<number[]> {
      const backAt = new Map<string, number>();
      await eventually(
        async () => {
          for (const page of people) {
            const state = await page.state();
            if (!backAt.has(page.name) && state.connection === 'joined' && state.self !== null && !before.includes(state.self.id)) {
              backAt.set(page.name, Date.now() - since);
            }
          }
          return backAt.size === people.length || undefined;
        },
        { what: 'everyone to be back in the call', timeoutMs: 60_000, intervalMs: 200 },
      );
      return people.map((page) => backAt.get(page.name)!);
    }

    /** Each sees every other's camera playing. */
    async function seeEachOther(people: ParticipantPage[]): Promise<void> {
      const ids = await Promise.all(people.map(async (page) => (await page.state()).self!.id));
      for (const [i, viewer] of people.entries()) {
        const others = ids.filter((_, j) => j !== i);
        await eventually(
          async () => {
            const { consumers } = await viewer.state();
            return others.every((other) => consumers.some((consumer) => consumer.peerId === other && consumer.source === 'camera')) || undefined;
          },
          { what: `${viewer.name} to receive every other camera`, timeoutMs: 30_000 },
        );
        const frames = await countPresentedFrames(viewer, others);
        await eventually(() => presentedAll(frames, others), { what: `${viewer.name}'s page to present every other video`, timeoutMs: 30_000 });
      }
    }

    it('people opening the room at three nodes meet on its node, see each other and chat; it killed, they are back on another by themselves and see each other again', async () => {
      const call = await callAcrossNodes('kill', 3);
      await seeEachOther(call.people);
      const [ana, ben, cy] = call.people as [ParticipantPage, ParticipantPage, ParticipantPage];
      await Promise.all(call.people.map((page) => page.page.evaluate(() => window.conclave!.dataReady())));
      await ben.page.evaluate(() => window.conclave!.chat.send('hello from another node'));
      for (const reader of [ana, cy]) {
        await eventually(
          async () =>
            (await reader.page.evaluate(() => window.conclave!.chat.messages())).some((message) => message.text === 'hello from another node') || undefined,
          {
            what: `Ben's message to reach ${reader.name}`,
          },
        );
      }

      const killedAt = Date.now();
      stop(call.home);
      const back = await backInCall(call, killedAt);
      const survivors = Object.keys(await admin.hgetall('room:kill'));
      console.log(`[cluster] ${call.home.id} killed: back on ${survivors.join(', ')} after ${back.join(', ')} ms (TTL ${TTL_S} s)`);
      expect(Math.max(...back)).toBeLessThan(BACK_WITHIN_MS);
      expect(survivors).toHaveLength(1);
      expect(survivors[0]).not.toBe(call.home.id);
      await seeEachOther(call.people);
      await endCall(call);
    });

    it('its node stopped (SIGTERM): they move to another node at once, without waiting for the registry to expire, and see each other again', async () => {
      const call = await callAcrossNodes('stop', 2);
      await seeEachOther(call.people);
      const stoppedAt = Date.now();
      call.home.child.kill('SIGTERM');
      const back = await backInCall(call, stoppedAt);
      const survivors = Object.keys(await admin.hgetall('room:stop'));
      console.log(`[cluster] ${call.home.id} stopped: back on ${survivors.join(', ')} after ${back.join(', ')} ms`);
      // Sooner than a lost node's expiry allows: the stopping node left the registry and said so.
      expect(Math.max(...back)).toBeLessThan(TTL_S * 1000);
      expect(survivors).toEqual([call.nodes.find((node) => node !== call.home)!.id]);
      await seeEachOther(call.people);
      await endCall(call);
    });
  },
);

async function liveNodes(node: NodeProcess): Promise<number> {
  const metrics = await (await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  return Number(/^conclave_cluster_nodes (\d+)$/m.exec(metrics)?.[1] ?? 0);
}

/** True once every listed peer's video has presented at least 10 frames. */
async function presentedAll(frames: () => Promise<Record<string, number>>, peerIds: string[]): Promise<true | undefined> {
  const counts = await frames();
  return peerIds.every((id) => (counts[id] ?? 0) >= 10) || undefined;
}
