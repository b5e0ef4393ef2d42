import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLUSTER_SECRET, type RedisServer } from '../cluster/redisServer.js';
import type { LabHost, NetLab } from './netlab.js';
import { eventually, isAlive } from './server.js';

/** The checkout this runs from, whether as a test (test/helpers) or built into a bench (dist/test/helpers). */
function checkoutRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}
const ROOT = checkoutRoot();
/** The built server each node runs, and the client it serves (`npm run build` first). */
const ENTRY = path.join(ROOT, 'dist/server/src/index.js');
const CLIENT_DIST = process.env.CONCLAVE_TEST_CLIENT_DIST ?? path.join(ROOT, 'client/dist');
const HTTP_PORT = 3000;
/** Lets the root namespace (not the node's own machine) read each node's /metrics. */
export const LAB_METRICS_TOKEN = 'cluster-lab-metrics-token';

/** A Conclave node process on a lab host of its own. */
export interface LabNode {
  id: string;
  url: string;
  child: ChildProcess;
  /** Its mediasoup workers, so none outlives the run. */
  workerPids: number[];
  /** Everything it logged, for when something goes wrong. */
  logFile: string;
}

/**
 * Starts a Conclave node on `host` (its own network namespace): every address it has or announces
 * is the host's, Redis is on the lab's gateway. Resolves once it serves.
 */
export async function startLabNode(lab: NetLab, host: LabHost, redis: RedisServer, options: { ttlSeconds: number; workers?: number }): Promise<LabNode> {
  const url = `http://${host.address}:${HTTP_PORT}`;
  // Its recordings and its log (node.log) go here.
  const recordingsDir = mkdtempSync(path.join(os.tmpdir(), 'conclave-cluster-'));
  const child = spawn('ip', ['netns', 'exec', host.namespace, process.execPath, ENTRY], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      PORT: String(HTTP_PORT),
      HTTP_HOST: host.address,
      LISTEN_IP: host.address,
      ANNOUNCED_IP: host.address,
      NUM_WORKERS: String(options.workers ?? 1),
      CLIENT_DIST,
      RECORDINGS_DIR: recordingsDir,
      REDIS_URL: `redis://:${redis.password}@${lab.gateway}:${redis.port}`,
      NODE_ID: host.name,
      CLUSTER_SECRET,
      INTERNAL_IP: host.address,
      PUBLIC_URL: url,
      CLUSTER_NODE_TTL_SECONDS: String(options.ttlSeconds),
      METRICS_TOKEN: LAB_METRICS_TOKEN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const node: LabNode = { id: host.name, url, child, workerPids: [], logFile: path.join(recordingsDir, 'node.log') };
  const log = createWriteStream(node.logFile);
  child.stdout?.pipe(log);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    node.workerPids = [...output.matchAll(/"pid":(\d+)/g)].map((match) => Number(match[1])).filter((pid) => pid !== child.pid);
  });
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await eventually(
    () => output.includes('Conclave is serving') || (child.exitCode !== null ? Promise.reject(new Error(`${host.name} exited: ${output}`)) : undefined),
    // Three nodes starting at once on a busy two-core machine: their workers and pages compete.
    { what: `${host.name} to serve`, timeoutMs: 60_000 },
  );
  return node;
}

/** Kills a lab node and its workers at once (SIGKILL). */
export function killLabNode(node: LabNode): void {
  node.child.kill('SIGKILL');
  for (const pid of node.workerPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

/** How many live nodes `node` counts (its /metrics). */
export async function liveNodes(node: LabNode): Promise<number> {
  const metrics = await (await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${LAB_METRICS_TOKEN}` } })).text();
  return Number(/^conclave_cluster_nodes (\d+)$/m.exec(metrics)?.[1] ?? 0);
}
