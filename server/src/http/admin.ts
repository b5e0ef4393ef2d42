import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { ConclaveError, type ErrorCode } from '../../../shared/errors.js';
import { DisplayName, firstIssue, RoomId } from '../../../shared/identity.js';
import { ModeratedSource, type Actor } from '../../../shared/moderation.js';
import { MEDIA_SOURCES, type MediaSource } from '../../../shared/protocol.js';
import { Role } from '../../../shared/roles.js';
import { signToken } from '../auth/token.js';
import type { Logger } from '../logger.js';
import type { Meeting } from '../moderation/Meeting.js';
import type { Meetings } from '../moderation/Meetings.js';
import type { Peer } from '../rooms/Peer.js';
import type { Room } from '../rooms/Room.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import type { SessionEvents } from '../session/SessionEvents.js';
import type { Recordings } from '../recording/Recordings.js';
import { clusterRooms, forwardRoomCalls, isForwarded, type AdminCluster } from './adminCluster.js';
import { addRecordingRoutes } from './recordingApi.js';

export const ADMIN_API_PATH = '/api/v1';

export interface AdminApiOptions {
  apiKey: string;
  rooms: RoomRegistry;
  meetings: Meetings;
  /** Participants' session events, also for a while after they left. */
  sessionEvents: SessionEvents;
  recordings: Recordings;
  /** In a cluster: calls about another node's room go there, and the room list covers every node. */
  cluster?: AdminCluster;
  /** AUTH_SECRET: POST /tokens signs with it; without it that endpoint answers 409. */
  authSecret: string | undefined;
  log: Logger;
}

const ADMIN: Actor = { admin: true };
const MAX_TOKEN_TTL = 30 * 24 * 3600;

const PeerId = z.uuid();
const MuteBody = z.object({ source: ModeratedSource });
const RoleBody = z.object({ role: z.enum(['moderator', 'participant']) });
const TokenBody = z.object({
  room: RoomId,
  name: DisplayName,
  role: Role.default('participant'),
  /** Seconds the token is valid (default one hour, at most 30 days). */
  ttl: z.number().int().min(60).max(MAX_TOKEN_TTL).default(3600),
  lobby: z.boolean().optional(),
});

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  NOT_AUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  UNSUPPORTED: 409,
  TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
};

/**
 * The operator's HTTP API (docs/admin-api.md): list rooms and participants, read a participant's
 * session events, mute, remove, lock, admit, change roles, end meetings, mint join tokens, record and
 * stream (recordingApi.ts). Every
 * call needs the bearer key, compared in constant time; every body is validated; every answer is
 * JSON, errors with a code.
 */
export function adminApi({ apiKey, rooms, meetings, sessionEvents, recordings, cluster, authSecret, log }: AdminApiOptions): Router {
  const api = express.Router();
  const expected = digest(apiKey);
  api.use((req, res, next) => {
    const given = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="admin"');
    fail(res, 'NOT_AUTHORIZED', 'Send Authorization: Bearer <ADMIN_API_KEY>');
  });
  api.use(express.json({ limit: '16kb' }));
  if (cluster) forwardRoomCalls(api, cluster, rooms, (res, error) => fail(res, error.code, error.message));

  const roomOf = (req: Request): { room: Room; meeting: Meeting } => {
    const room = rooms.get(String(req.params.room));
    if (!room) throw new ConclaveError('NOT_FOUND', `No open room ${JSON.stringify(String(req.params.room))}`);
    return { room, meeting: meetings.of(room) };
  };
  const participantOf = (req: Request): { room: Room; meeting: Meeting; peer: Peer } => {
    const found = roomOf(req);
    const peer = found.room.peers.get(String(req.params.id));
    if (!peer) throw new ConclaveError('NOT_FOUND', `No participant ${JSON.stringify(String(req.params.id))} in room ${found.room.id}`);
    return { ...found, peer };
  };
  const act = (what: string, handler: (req: Request, res: Response) => Promise<unknown>): RequestHandler => {
    return (req, res, next: NextFunction) => {
      // A handler that throws before its first await is answered like one that rejects.
      Promise.resolve()
        .then(() => handler(req, res))
        .then(
          (body) => {
            if (!res.headersSent) res.json(body ?? {});
          },
          (error: unknown) => {
            if (error instanceof ConclaveError) return fail(res, error.code, error.message);
            log.error({ err: error, what }, 'admin API call failed');
            next(error);
          },
        );
    };
  };

  api.get(
    '/rooms',
    act('list rooms', async (req) => {
      const local = (await rooms.list()).map((room) => ({
        id: room.id,
        participants: room.peers.size,
        createdAt: new Date(room.createdAt).toISOString(),
        locked: meetings.of(room).policy.locked,
        waiting: meetings.of(room).lobby.knocks.length,
      }));
      return cluster && !isForwarded(req) ? clusterRooms(cluster, local) : { rooms: local };
    }),
  );

  api.get(
    '/rooms/:room',
    act('describe room', (req) => {
      const { room, meeting } = roomOf(req);
      return Promise.resolve({
        id: room.id,
        createdAt: new Date(room.createdAt).toISOString(),
        locked: meeting.policy.locked,
        policy: meeting.policy,
        participants: [...room.peers.values()].map(describePeer),
        lobby: meeting.lobby.knocks,
      });
    }),
  );

  // From the participant's own log, not the room: it answers for those who left, after the room closed.
  api.get(
    '/rooms/:room/participants/:id/events',
    act('session events', (req) => {
      const roomId = String(req.params.room);
      const id = String(req.params.id);
      if (!RoomId.safeParse(roomId).success) throw new ConclaveError('BAD_REQUEST', `Not a room name: ${JSON.stringify(roomId.slice(0, 80))}`);
      if (!PeerId.safeParse(id).success) throw new ConclaveError('BAD_REQUEST', `Not a participant id (a UUID): ${JSON.stringify(id.slice(0, 80))}`);
      const found = sessionEvents.find(id);
      if (!found || found.subject.roomId !== roomId) {
        throw new ConclaveError('NOT_FOUND', `No participant ${JSON.stringify(id)} in room ${roomId}, now or recently enough to keep their events`);
      }
      return Promise.resolve(found.describe());
    }),
  );

  api.post(
    '/rooms/:room/participants/:id/mute',
    act('mute', async (req) => {
      const { meeting, peer } = participantOf(req);
      await meeting.mute(ADMIN, peer, parse(MuteBody, req.body).source);
    }),
  );

  api.delete(
    '/rooms/:room/participants/:id',
    act('remove', async (req) => {
      const { meeting, peer } = participantOf(req);
      await meeting.remove(ADMIN, peer, req.query.ban === '1' || req.query.ban === 'true');
    }),
  );

  api.post(
    '/rooms/:room/participants/:id/role',
    act('set role', async (req) => {
      const { meeting, peer } = participantOf(req);
      await meeting.setRole(ADMIN, peer, parse(RoleBody, req.body).role);
    }),
  );

  for (const [path, locked] of [
    ['lock', true],
    ['unlock', false],
  ] as const) {
    api.post(
      `/rooms/:room/${path}`,
      act(path, async (req) => ({ policy: await roomOf(req).meeting.setPolicy(ADMIN, { locked }) })),
    );
  }

  for (const answer of ['admit', 'deny'] as const) {
    api.post(
      `/rooms/:room/lobby/:id/${answer}`,
      act(answer, async (req) => {
        const { meeting } = roomOf(req);
        const knockId = String(req.params.id);
        if (!meeting.lobby.has(knockId)) throw new ConclaveError('NOT_FOUND', `Nobody with knock ${JSON.stringify(knockId)} waits in this lobby`);
        await meeting.answerKnocks(ADMIN, answer === 'admit', [knockId]);
      }),
    );
  }

  api.delete(
    '/rooms/:room',
    act('end meeting', async (req) => {
      await roomOf(req).meeting.end(ADMIN);
    }),
  );

  api.post(
    '/tokens',
    act('mint token', async (req) => {
      if (!authSecret) throw new ConclaveError('UNSUPPORTED', 'This server has no AUTH_SECRET to sign join tokens with');
      const { room, name, role, ttl, lobby } = parse(TokenBody, req.body);
      const token = await signToken(authSecret, { room, name, role, ...(lobby === undefined ? {} : { lobby }) }, ttl);
      return { token, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() };
    }),
  );

  addRecordingRoutes(api, { recordings, roomOf, act, parse });

  api.use((_req, res) => fail(res, 'NOT_FOUND', 'No such admin API endpoint'));
  const errors: ErrorRequestHandler = (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    const status = typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number' ? error.status : 500;
    if (status === 413) fail(res, 'TOO_LARGE', 'A request body is at most 16 KiB');
    else if (error instanceof URIError) fail(res, 'BAD_REQUEST', 'The path is not validly percent-encoded');
    else if (status < 500) fail(res, 'BAD_REQUEST', 'The body must be JSON');
    else fail(res, 'INTERNAL', 'The admin API call failed on the server');
  };
  api.use(errors);
  return api;
}

/** What the admin API says of a participant. */
function describePeer(peer: Peer): Record<string, unknown> {
  const media = Object.fromEntries(MEDIA_SOURCES.map((source) => [source, sourceState(peer, source)]));
  return {
    id: peer.id,
    name: peer.displayName,
    role: peer.role,
    joinedAt: new Date(peer.joinedAt).toISOString(),
    ...media,
    handRaisedAt: peer.handRaisedAt === null ? null : new Date(peer.handRaisedAt).toISOString(),
    connection: peer.session.connected ? 'connected' : 'reconnecting',
  };
}

function sourceState(peer: Peer, source: MediaSource): 'on' | 'off' | 'none' {
  const producer = [...peer.producers.values()].find((candidate) => candidate.appData.source === source);
  if (!producer) return 'none';
  return producer.paused ? 'off' : 'on';
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new ConclaveError('BAD_REQUEST', firstIssue(parsed.error));
  return parsed.data;
}

function fail(res: Response, code: ErrorCode, message: string): void {
  res.status(STATUS[code] ?? 500).json({ code, message });
}

/** Equal-length digests, so the comparison takes the same time whatever was sent. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
