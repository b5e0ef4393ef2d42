import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import { ConclaveError } from '../../../shared/errors.js';
import type { Actor } from '../../../shared/moderation.js';
import { RecordingLayout, StreamUrl } from '../../../shared/recording.js';
import type { Recordings } from '../recording/Recordings.js';
import type { Room } from '../rooms/Room.js';

const ADMIN: Actor = { admin: true };
const RecordingBody = z.object({ layout: RecordingLayout.default('grid') });
const StreamBody = z.object({ url: StreamUrl, layout: RecordingLayout.default('grid') });

export interface RecordingRoutesContext {
  recordings: Recordings;
  roomOf: (req: Request) => { room: Room };
  act: (what: string, handler: (req: Request, res: Response) => Promise<unknown>) => RequestHandler;
  parse: <T extends z.ZodType>(schema: T, body: unknown) => z.output<T>;
}

/**
 * The admin API's recording endpoints (docs/admin-api.md, docs/recording.md): start and stop a
 * room's recording or stream, list, download and delete recordings. Files are served only here,
 * behind the admin key, and by the signed links hosts get (server/src/http/app.ts).
 */
export function addRecordingRoutes(api: Router, { recordings, roomOf, act, parse }: RecordingRoutesContext): void {
  api.post(
    '/rooms/:room/recording',
    act('start recording', async (req, res) => {
      const { room } = roomOf(req);
      const { layout } = parse(RecordingBody, req.body);
      const status = await recordings.start(room, { kind: 'recording', layout, by: ADMIN });
      res.status(201);
      return { status, recording: recordings.current(room.id) };
    }),
  );

  api.delete(
    '/rooms/:room/recording',
    act('stop recording', async (req) => {
      const roomId = String(req.params.room);
      const id = recordings.current(roomId)?.id;
      const status = await recordings.stop(roomId, 'recording', ADMIN);
      return { status, recording: id === undefined ? null : await recordings.store.get(id) };
    }),
  );

  api.post(
    '/rooms/:room/stream',
    act('start stream', async (req, res) => {
      const { room } = roomOf(req);
      const { url, layout } = parse(StreamBody, req.body);
      const status = await recordings.start(room, { kind: 'stream', layout, url, by: ADMIN });
      res.status(201);
      return { status };
    }),
  );

  api.delete(
    '/rooms/:room/stream',
    act('stop stream', async (req) => ({ status: await recordings.stop(String(req.params.room), 'stream', ADMIN) })),
  );

  api.get(
    '/recordings',
    act('list recordings', async () => ({ recordings: await recordings.store.list() })),
  );

  api.get(
    '/recordings/:id',
    act('describe recording', (req) => recordings.store.get(String(req.params.id))),
  );

  api.get(
    '/recordings/:id/file',
    act('download recording', async (req, res) => {
      const info = await recordings.store.get(String(req.params.id));
      if (info.status === 'recording') throw new ConclaveError('NOT_FOUND', 'That recording is not finished yet');
      await sendRecording(res, recordings.store.fileOf(info.id), info.file);
    }),
  );

  api.delete(
    '/recordings/:id',
    act('delete recording', async (req) => {
      const id = String(req.params.id);
      await recordings.store.remove(id);
      return { deleted: id };
    }),
  );
}

/** Sends the file as a download; resolves when it was sent (or failed, answered by the caller). */
export function sendRecording(res: Response, file: string, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    res.download(file, name, { headers: { 'Cache-Control': 'private, no-store' } }, (error) => {
      if (!error) return resolve();
      if (res.headersSent) return resolve();
      reject(new ConclaveError('NOT_FOUND', 'The recording file is missing'));
    });
  });
}
