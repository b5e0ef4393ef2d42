import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';
import { version as mediasoupVersion } from 'mediasoup';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ClusterStats } from '../cluster/Cluster.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import type { WebhookStats } from '../webhooks/Webhooks.js';

export interface MetricsOptions {
  pool: WorkerPool;
  rooms: RoomRegistry;
  /** Conclave's own version, for the build info. */
  version: string;
  /** When set, scrapes need `Authorization: Bearer <token>`; unset, only direct requests from this machine are served. */
  token: string | undefined;
  /** The webhook queue's counters (server/src/webhooks), when webhooks are configured. */
  webhooks?: () => WebhookStats;
  /** This node's view of its cluster (server/src/cluster), only with REDIS_URL. */
  cluster?: () => ClusterStats;
}

/**
 * Prometheus metrics: per-worker CPU (mediasoup's own getrusage, so a load test can see which
 * worker saturates), producers and consumers per worker, rooms and peers, and prom-client's Node
 * process metrics (CPU, RSS, event loop). Its own registry, so several servers can share a process (tests).
 */
export function createMetricsHandler({ pool, rooms, version, token, webhooks, cluster }: MetricsOptions): RequestHandler {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  // Versions go here, behind the metrics guard, not on the public /healthz: they help pick exploits.
  new Gauge({
    name: 'conclave_build_info',
    help: 'Always 1; the labels say which Conclave, Node and mediasoup are running',
    labelNames: ['version', 'node', 'mediasoup'],
    registers: [registry],
  }).set({ version, node: process.versions.node, mediasoup: mediasoupVersion }, 1);

  new Counter({
    name: 'conclave_worker_cpu_seconds_total',
    help: 'CPU time (user + system) used by each mediasoup worker process',
    labelNames: ['worker'],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        pool.live.map(async ({ index, worker }) => {
          const usage = await worker.getResourceUsage().catch(() => undefined);
          if (usage) this.inc({ worker: String(index) }, (usage.ru_utime + usage.ru_stime) / 1000);
        }),
      );
    },
  });

  new Gauge({
    name: 'conclave_worker_producers',
    help: 'Producers of participants whose transports are on each mediasoup worker',
    labelNames: ['worker'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [index, producers] of await producersPerWorker(pool, rooms)) this.set({ worker: String(index) }, producers);
    },
  });
  new Gauge({
    name: 'conclave_worker_consumers',
    help: 'Consumers open on each mediasoup worker (including those feeding pipes to other workers)',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { index, consumers } of pool.live) this.set({ worker: String(index) }, consumers);
    },
  });
  new Gauge({
    name: 'conclave_worker_transports',
    help: 'WebRTC transports open on each mediasoup worker',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { index, transports } of pool.live) this.set({ worker: String(index) }, transports);
    },
  });
  new Gauge({
    name: 'conclave_workers_alive',
    help: 'mediasoup workers alive',
    registers: [registry],
    collect() {
      this.set(pool.live.length);
    },
  });
  new Counter({
    name: 'conclave_worker_deaths_total',
    help: 'mediasoup worker processes that died (crashed or were killed), per worker slot',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [index, deaths] of pool.faults.deaths) this.inc({ worker: String(index) }, deaths);
    },
  });
  new Counter({
    name: 'conclave_worker_crash_loop_delays_total',
    help: 'Replacements held back because their slot died more than 3 times within 60 s (a crash loop)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pool.faults.delayedReplacements);
    },
  });
  new Gauge({
    name: 'conclave_workers_crash_looping',
    help: 'Worker slots in a crash loop now (their replacement is being delayed)',
    registers: [registry],
    collect() {
      this.set(pool.crashLooping.length);
    },
  });
  new Gauge({
    name: 'conclave_rooms',
    help: 'Open rooms',
    registers: [registry],
    async collect() {
      this.set((await rooms.list()).length);
    },
  });
  new Gauge({
    name: 'conclave_peers',
    help: 'Participants in all rooms',
    registers: [registry],
    async collect() {
      this.set((await rooms.list()).reduce((sum, room) => sum + room.peers.size, 0));
    },
  });
  if (webhooks) registerWebhookMetrics(registry, webhooks);
  if (cluster) registerClusterMetrics(registry, cluster);

  return async (req, res) => {
    if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      res.status(401).type('text/plain').send('Unauthorized\n');
      return;
    }
    // Without a token, only this machine may look: a direct request from loopback, not one a proxy
    // on this machine forwarded (it says so in its headers) from who knows where.
    if (token === undefined && !(isLoopback(req.socket.remoteAddress) && !forwardedByProxy(req.headers))) {
      res.status(403).type('text/plain').send('Metrics are only served to this machine; set METRICS_TOKEN to scrape them from elsewhere\n');
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    res.type(registry.contentType).send(await registry.metrics());
  };
}

/** This node's view of the cluster: whether Redis answers, the nodes it sees, and its media pipes to and from other nodes. */
function registerClusterMetrics(registry: Registry, stats: () => ClusterStats): void {
  new Gauge({
    name: 'conclave_cluster_redis_up',
    help: "1 while this node's heartbeat reaches Redis; 0 while it cannot (running calls go on, joins that need the directory fail)",
    registers: [registry],
    collect() {
      this.set(stats().redisUp ? 1 : 0);
    },
  });
  new Gauge({
    name: 'conclave_cluster_nodes',
    help: 'Live nodes of the cluster as this node saw them at its last heartbeat (itself included)',
    registers: [registry],
    collect() {
      this.set(stats().nodes);
    },
  });
  new Gauge({
    name: 'conclave_cluster_pipes',
    help: "Media pipes between this node and others: 'in' receive another node's producer, 'out' send one of ours",
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      const { pipes } = stats();
      this.set({ direction: 'in' }, pipes.incoming);
      this.set({ direction: 'out' }, pipes.outgoing);
    },
  });
}

/** Webhook delivery, read from the queue's own counters at each scrape. A growing drop count means a receiver is down or too slow. */
export function registerWebhookMetrics(registry: Registry, stats: () => WebhookStats): void {
  new Counter({
    name: 'conclave_webhook_events_delivered_total',
    help: 'Webhook events a receiver answered with 2xx (each receiver counts)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats().delivered);
    },
  });
  new Counter({
    name: 'conclave_webhook_delivery_failures_total',
    help: 'Webhook delivery attempts that failed (non-2xx, network error or timeout) and were retried or given up',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats().failedAttempts);
    },
  });
  new Counter({
    name: 'conclave_webhook_events_dropped_total',
    help: 'Webhook events never delivered: the queue was full (overflow, oldest dropped) or the retries ran out (gave_up)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      const { dropped } = stats();
      this.inc({ reason: 'overflow' }, dropped.overflow);
      this.inc({ reason: 'gave_up' }, dropped.gaveUp);
    },
  });
  new Gauge({
    name: 'conclave_webhook_events_queued',
    help: 'Webhook events waiting for delivery over all receivers',
    registers: [registry],
    collect() {
      this.set(stats().queued);
    },
  });
}

/** A room can span workers: each of its routers counts the producers of the participants placed on it. */
async function producersPerWorker(pool: WorkerPool, rooms: RoomRegistry): Promise<Map<number, number>> {
  const counts = new Map<number, number>(pool.live.map(({ index }) => [index, 0]));
  for (const room of await rooms.list()) {
    for (const { host, peerIds } of room.routers) {
      const producers = peerIds.reduce((sum, peerId) => sum + (room.peers.get(peerId)?.producers.size ?? 0), 0);
      if (counts.has(host.index)) counts.set(host.index, counts.get(host.index)! + producers);
    }
  }
  return counts;
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (/^127\./.test(address) || address === '::1' || /^::ffff:127\./.test(address));
}

function forwardedByProxy(headers: IncomingHttpHeaders): boolean {
  return ['forwarded', 'x-forwarded-for', 'x-real-ip', 'via'].some((name) => headers[name] !== undefined);
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer (.+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
