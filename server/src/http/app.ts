import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import { firstIssue } from '../../../shared/identity.js';
import { LEAVE_BEACON_PATH, LeaveBeacon } from '../../../shared/protocol.js';
import { ConclaveError } from '../../../shared/errors.js';
import { DOWNLOAD_PATH, type RecordingStore } from '../recording/RecordingStore.js';
import { ADMIN_API_PATH } from './admin.js';
import { sendRecording } from './recordingApi.js';

export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  uptimeSeconds: number;
  /** `crashLooping`: slots whose worker keeps dying, their replacement held back by the back-off. */
  workers: { total: number; alive: number; crashLooping: number[] };
  rooms: number;
  peers: number;
}

export interface HttpAppOptions {
  clientDist: string;
  health: () => Promise<Health>;
  /** Prometheus metrics at GET /metrics (it checks its own token). */
  metrics?: RequestHandler;
  /** A closing tab's leave (see LeaveBeacon): true when that participant was there and has left. */
  leaveBeacon?: (beacon: LeaveBeacon) => boolean;
  /** The admin API (ADMIN_API_KEY set); without it, its paths answer 404. */
  admin?: Router;
  /** Checks hosts' signed recording download links (server/src/recording). */
  recordingLinks?: RecordingStore;
  /** TRUST_PROXY, for req.ip. */
  trustProxy?: readonly string[];
}

/** Static client, health endpoint; everything else about a call goes over Socket.IO. */
export function createHttpApp({ clientDist, health, metrics, leaveBeacon, admin, recordingLinks, trustProxy = [] }: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  if (trustProxy.length > 0) app.set('trust proxy', [...trustProxy]);
  if (admin) app.use(ADMIN_API_PATH, admin);
  else
    app.use(
      ADMIN_API_PATH,
      (_req, res) => void res.status(404).json({ code: 'NOT_FOUND', message: 'The admin API is off on this server (ADMIN_API_KEY is not set)' }),
    );

  if (recordingLinks) {
    app.get(`${DOWNLOAD_PATH}/:id`, (req, res) => {
      const query = (name: string): string => (typeof req.query[name] === 'string' ? req.query[name] : '');
      recordingLinks
        .linked(String(req.params.id), query('expires'), query('signature'))
        .then(({ file, info }) => sendRecording(res, file, info.file))
        .catch((error: unknown) => {
          if (res.headersSent) return;
          const refused = error instanceof ConclaveError ? error : new ConclaveError('INTERNAL', 'The download failed on the server');
          res.status(refused.code === 'NOT_AUTHORIZED' ? 403 : refused.code === 'NOT_FOUND' ? 404 : 500).json({ code: refused.code, message: refused.message });
        });
    });
  }

  app.get('/healthz', async (_req, res) => {
    const report = await health();
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });
  if (metrics) app.get('/metrics', metrics);
  if (leaveBeacon) {
    // sendBeacon posts a string as text/plain (no CORS preflight), so any type is read as text.
    app.post(LEAVE_BEACON_PATH, express.text({ type: () => true, limit: '1kb' }), (req, res) => {
      let body: unknown;
      try {
        body = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        res.status(400).json({ code: 'BAD_REQUEST', message: 'The body must be JSON: {"peerId", "resumeToken"}' });
        return;
      }
      const beacon = LeaveBeacon.safeParse(body);
      if (!beacon.success) {
        res.status(400).json({ code: 'BAD_REQUEST', message: firstIssue(beacon.error) });
        return;
      }
      if (leaveBeacon(beacon.data)) res.status(204).end();
      else res.status(404).json({ code: 'NOT_FOUND', message: 'No such participant (already left?)' });
    });
    // The body reader's own failures (too large, unknown charset, cut off) answer in kind, never with a stack.
    const beaconError: ErrorRequestHandler = (error: unknown, _req, res, next) => {
      if (res.headersSent) return next(error);
      const status = typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number' ? error.status : 500;
      if (status === 413) res.status(413).json({ code: 'TOO_LARGE', message: 'A leave beacon is at most 1 KiB' });
      else if (status < 500) res.status(status).json({ code: 'BAD_REQUEST', message: 'Could not read the leave beacon' });
      else res.status(500).json({ code: 'INTERNAL', message: 'The leave beacon failed on the server' });
    };
    app.use(LEAVE_BEACON_PATH, beaconError);
  }

  const indexHtml = path.resolve(clientDist, 'index.html');
  if (existsSync(indexHtml)) {
    app.use(express.static(clientDist, { index: 'index.html', maxAge: '1h', setHeaders: noCacheForHtml }));
    // Every other path is the app (rooms are chosen by query string, but deep links stay friendly).
    app.get(/^\/(?!socket\.io\/).*/, (_req, res) => {
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(indexHtml);
    });
  } else {
    app.get('/', (_req, res) => {
      res.status(503).type('text/plain').send(`The client is not built (${indexHtml} is missing). Run: npm run build:client\n`);
    });
  }
  return app;
}

function noCacheForHtml(res: express.Response, filePath: string): void {
  if (filePath.endsWith('.html')) res.setHeader('Cache-Control', 'no-cache');
}
