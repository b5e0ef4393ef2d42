import type { Peer } from './rooms/Peer.js';
import { ConclaveError } from '../../shared/errors.js';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/protocol.js';
import { isClientHeaderExtension } from '../../shared/rtp.js';
import { tokenVerifierFor } from './auth/token.js';
import { Cluster, clusterSettings, producerIn } from './cluster/Cluster.js';
import { loopbackAdmin } from './cluster/ClusterAdmin.js';
import { loadOf } from './cluster/nodeLoad.js';
import { attachCheck } from './check/index.js';
import type { Config } from './config.js';
import { trustedProxies } from './http/clientAddress.js';
import { ADMIN_API_PATH, adminApi } from './http/admin.js';
import { createHttpApp, type Health } from './http/app.js';
import { createMetricsHandler } from './http/metrics.js';
import type { Logger } from './logger.js';
import { mediaCodecs } from './media/codecs.js';
import { alsoListenOn, lanAddress } from './media/addresses.js';
import { CrashWatch } from './media/CrashWatch.js';
import { WorkerPool } from './media/WorkerPool.js';
import { knockLimiter } from './moderation/knockLimiter.js';
import { carryOut } from './moderation/targetActions.js';
import { Meetings } from './moderation/Meetings.js';
import { monitorLinks } from './quality/LinkMonitor.js';
import { MemoryRoomState } from './moderation/RoomState.js';
import { RoomRegistry } from './rooms/RoomRegistry.js';
import { SessionRegistry } from './session/SessionRegistry.js';
import type { SignalingContext } from './signaling/connection.js';
import { attachSignaling } from './signaling/index.js';
import { reportRoomEvents } from './webhooks/roomEvents.js';
import { Webhooks } from './webhooks/Webhooks.js';
import { leaveByBeacon } from './signaling/room.js';
import { attachRecorder } from './recording/namespace.js';
import { Recordings } from './recording/Recordings.js';
import { RecordingStore } from './recording/RecordingStore.js';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url.replace('/dist/', '/')), 'utf8')) as { version: string })
  .version;

export interface ConclaveServer {
  url: string;
  port: number;
  pool: WorkerPool;
  rooms: RoomRegistry;
  /** Participants' sessions by peer id (tests reach a participant's connection here). */
  sessions: SessionRegistry;
  /** Recordings and live streams (tests reach the compositor's process here). */
  recordings: Recordings;
  /** This node's membership of a cluster; only with REDIS_URL (docs/cluster.md). */
  cluster: Cluster | undefined;
  health(): Promise<Health>;
  /** Stops accepting, disconnects everyone, closes rooms and workers. Idempotent. */
  close(): Promise<void>;
}

/** How often every participant's link is measured and what it receives refitted (server/src/quality). */
const LINK_MONITOR_INTERVAL_MS = 2000;
/** Where mediasoup's estimate of each participant's downlink starts (and the lowest its maximum can be). */
const INITIAL_OUTGOING_BPS = 1_000_000;

/** Starts workers, HTTP and Socket.IO. Everything a test or `main` needs to run a server. */
export async function startServer(config: Config, log: Logger): Promise<ConclaveServer> {
  const started = Date.now();
  const lan = alsoListenOn(config);
  const pool = await WorkerPool.create({
    numWorkers: config.NUM_WORKERS,
    rtcPort: config.RTC_PORT,
    listenIp: config.LISTEN_IP,
    announcedAddress: config.ANNOUNCED_IP,
    alsoListenOn: lan,
    logLevel: config.WORKER_LOG_LEVEL,
    logger: log,
  });
  logMediaAddresses(config, lan, log);
  const rooms = new RoomRegistry(
    pool,
    {
      maxPeers: config.MAX_PEERS_PER_ROOM,
      maxRooms: config.MAX_ROOMS,
      spreadAtConsumers: config.SPREAD_AT_CONSUMERS,
      initialOutgoingBitrate: INITIAL_OUTGOING_BPS,
      maxFileBytes: config.MAX_FILE_MB * 1024 * 1024,
      moveTimeoutMs: config.ROOM_MOVE_TIMEOUT_SECONDS * 1000,
    },
    log,
  );

  // Every router is built from the same codec list, so one probe router gives the capabilities all share.
  const { router: probe } = await pool.createRouter(mediaCodecs);
  const routerRtpCapabilities = {
    ...probe.rtpCapabilities,
    headerExtensions: probe.rtpCapabilities.headerExtensions?.filter(isClientHeaderExtension),
  };
  probe.close();

  // One participant's media on every worker that keeps dying: take that participant out.
  const crashes = new CrashWatch();
  pool.on('workerDied', (death) => {
    for (const peerId of crashes.record(death)) {
      rooms.remove(peerId, 'mediaCrashes', 'You were disconnected: the media server kept failing while it carried your audio or video. Rejoin to try again.');
    }
  });

  const health = async (): Promise<Health> => {
    const open = await rooms.list();
    const alive = pool.live.length;
    const crashLooping = pool.crashLooping;
    return {
      status: alive === pool.size && crashLooping.length === 0 ? 'ok' : 'degraded',
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      workers: { total: pool.size, alive, crashLooping },
      rooms: open.length,
      peers: open.reduce((sum, room) => sum + room.peers.size, 0),
    };
  };

  // Only with REDIS_URL: without it nothing of the cluster is made and the server runs alone.
  const settings = clusterSettings(config, VERSION);
  const cluster = settings
    ? await Cluster.start(settings, { load: loadOf(pool), findProducer: producerIn(rooms), rooms, log }).catch((error: unknown) => {
        pool.close();
        throw error;
      })
    : undefined;

  const sessions = new SessionRegistry({ retainMs: config.SESSION_EVENTS_RETAIN_SECONDS * 1000 });
  const webhooks = new Webhooks({ urls: config.WEBHOOK_URLS, secret: config.WEBHOOK_SECRET, server: os.hostname(), log: log.child({ webhooks: true }) });
  const metrics = createMetricsHandler({
    pool,
    rooms,
    version: VERSION,
    token: config.METRICS_TOKEN,
    webhooks: () => webhooks.stats(),
    cluster: cluster && (() => cluster.stats()),
  });
  const meetings = new Meetings(
    rooms,
    new MemoryRoomState(),
    { timeoutMs: config.LOBBY_TIMEOUT * 1000, maxKnocks: config.MAX_LOBBY, autoHost: tokenVerifierFor(config) === undefined },
    reportRoomEvents(rooms, webhooks, cluster?.spans ? cluster : undefined),
    log,
  );
  const recordingStore = new RecordingStore(
    path.resolve(config.RECORDINGS_DIR),
    config.RECORDING_MIN_FREE_MB * 1024 * 1024,
    config.ADMIN_API_KEY ?? config.AUTH_SECRET,
  );
  void recordingStore.recover().then(
    (count) => count > 0 && log.warn({ count }, 'recordings cut off by an earlier stop were kept as far as they got'),
    (error: unknown) => log.error({ err: error }, 'could not look through RECORDINGS_DIR'),
  );
  let listeningPort = config.PORT;
  /** Where this process itself reaches its HTTP server (the recording compositor, admin calls other nodes pass on). */
  const selfOrigin = (): string => `${config.TLS_CERT ? 'https' : 'http'}://${loopbackFor(config.HTTP_HOST)}:${listeningPort}`;
  const recordings = new Recordings({
    config,
    store: recordingStore,
    webhooks,
    origin: selfOrigin,
    routerRtpCapabilities,
    log: log.child({ recordings: true }),
  });
  monitorLinks(rooms, { intervalMs: LINK_MONITOR_INTERVAL_MS, adaptDownlinks: true, initialOutgoingBps: INITIAL_OUTGOING_BPS }, log);
  cluster?.serveModeration(async ({ roomId, peerId, by, action }) => {
    const room = rooms.get(roomId);
    const target = room?.peers.get(peerId);
    if (!room || !target) throw new ConclaveError('NOT_FOUND', 'No such participant in this meeting');
    await carryOut(meetings.of(room), by, target, action);
  });
  if (cluster && config.ADMIN_API_KEY) cluster.serveAdmin(loopbackAdmin(selfOrigin, ADMIN_API_PATH, config.ADMIN_API_KEY));
  const admin = config.ADMIN_API_KEY
    ? adminApi({
        apiKey: config.ADMIN_API_KEY,
        rooms,
        meetings,
        sessionEvents: sessions.events,
        recordings,
        cluster,
        authSecret: config.AUTH_SECRET,
        log: log.child({ api: 'admin' }),
      })
    : undefined;
  const app = createHttpApp({
    clientDist: config.CLIENT_DIST,
    health,
    metrics,
    leaveBeacon: (beacon) => leaveByBeacon(sessions, beacon),
    recordingLinks: recordingStore,
    admin,
    trustProxy: config.TRUST_PROXY,
  });
  const tls = config.TLS_CERT && config.TLS_KEY ? { cert: readFileSync(config.TLS_CERT), key: readFileSync(config.TLS_KEY) } : undefined;
  const httpServer = tls ? https.createServer(tls, app) : http.createServer(app);
  // A cluster's nodes serve the same page, and a page follows a redirect to the room's node.
  const allowedOrigins = (): string[] => [...config.CORS_ORIGINS, ...(cluster?.nodeOrigins() ?? [])];
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(httpServer, {
    serveClient: false,
    // Short heartbeats so a vanished connection is noticed within seconds.
    pingInterval: 5000,
    pingTimeout: 5000,
    maxHttpBufferSize: config.MAX_MESSAGE_KB * 1024,
    // Production always checks the Origin (own origin plus CORS_ORIGINS); development stays open
    // unless a list is given, so a Vite dev server on another port can connect.
    ...(config.CORS_ORIGINS.length > 0 || config.NODE_ENV === 'production'
      ? {
          cors: { origin: (origin, callback) => callback(null, origin !== undefined && allowedOrigins().includes(origin)) },
          allowRequest: originCheck(allowedOrigins),
        }
      : {}),
  });
  const signaling: SignalingContext = {
    config,
    log,
    pool,
    rooms,
    sessions,
    meetings,
    recordings,
    knockLimiter: knockLimiter(config.LOBBY_KNOCKS_PER_MINUTE, 5),
    trustedProxies: trustedProxies(config.TRUST_PROXY),
    routerRtpCapabilities,
    version: VERSION,
    draining: false,
    cluster,
  };
  attachSignaling(io, signaling);
  cluster?.onNodesChanged((urls) => io.emit('clusterNodes', { urls }));
  attachCheck(io, { config, log, pool, trustedProxies: signaling.trustedProxies, version: VERSION });
  attachRecorder(io, recordings, routerRtpCapabilities, log.child({ recorder: true }));

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.PORT, config.HTTP_HOST, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  listeningPort = port;
  const shownHost = config.HTTP_HOST === '0.0.0.0' || config.HTTP_HOST === '::' ? 'localhost' : config.HTTP_HOST;
  const url = `${tls ? 'https' : 'http'}://${shownHost}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      signaling.draining = true;
      // Recordings first, while their media still flows: the files are finished, not cut off.
      await recordings.closeAll();
      // In a cluster whose rooms span nodes, everyone here continues in the same place on another
      // node (a ticket each), and the rooms' other nodes keep them meanwhile.
      const moves = cluster?.prepareMoves(rooms.opened()) ?? new Map<Peer, string>();
      // Out of the cluster first: the participants about to leave for another node must not be
      // placed back here, nor sent home by a node that still lists this one.
      await cluster?.close();
      const message = 'The server is restarting; reconnecting…';
      for (const [peer, moveTicket] of moves) peer.notify('serverShutdown', { message, moveTicket });
      io.emit('serverShutdown', { message });
      io.disconnectSockets(true);
      rooms.closeAll();
      // Let the notice and disconnect packets leave before the engine closes the sockets.
      await new Promise((resolve) => setTimeout(resolve, 100));
      // io.close() also closes the HTTP server, which waits for open connections: end those at once.
      const closed = io.close();
      httpServer.closeAllConnections();
      await closed;
      // The rooms' last events (participants left, rooms finished) get a moment to reach receivers.
      if (config.WEBHOOK_URLS.length > 0) await webhooks.flush(3000);
      webhooks.close();
      pool.close();
    })();
    return closing;
  };

  return { url, port, pool, rooms, sessions, recordings, cluster, health, close };
}

/** Where this machine's own browser (the recording compositor) reaches the server. */
function loopbackFor(httpHost: string): string {
  if (httpHost === '0.0.0.0' || httpHost === '::' || httpHost === 'localhost') return '127.0.0.1';
  return httpHost.includes(':') ? `[${httpHost}]` : httpHost;
}

/** Which addresses browsers are told to send media to: the first thing to check when media does not flow. */
function logMediaAddresses(config: Config, lan: string[], log: Logger): void {
  const offered = [config.ANNOUNCED_IP ?? config.LISTEN_IP, ...lan];
  log.info({ media: offered, mediaOnLan: config.MEDIA_ON_LAN }, `media is offered on ${offered.join(' and ')}`);
  if (config.MEDIA_ON_LAN && lanAddress() === undefined) {
    log.warn(`MEDIA_ON_LAN: this machine has no non-loopback IPv4 address, so media is offered on ${config.LISTEN_IP} only, which Firefox does not use`);
  }
}

/**
 * Browsers may open Socket.IO only from the server's own origin or a listed one. CORS headers alone do not cover WebSockets, so the handshake's Origin is checked here.
 */
function originCheck(allowed: () => string[]): (request: http.IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) => void {
  return (request, callback) => {
    const origin = request.headers.origin;
    // Non-browser clients send no Origin; same-origin pages send their own host.
    const ok = origin === undefined || allowed().includes(origin) || (URL.canParse(origin) && new URL(origin).host === request.headers.host);
    callback(ok ? null : 'Origin not allowed', ok);
  };
}
