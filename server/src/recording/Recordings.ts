import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { ConclaveError } from '../../../shared/errors.js';
import type { Actor } from '../../../shared/moderation.js';
import type { Notifications } from '../../../shared/protocol.js';
import {
  redactStreamUrl,
  type CompositorOutput,
  type EgressActivity,
  type EgressKind,
  type RecordingInfo,
  type RecordingLayout,
  type RecordingStatus,
} from '../../../shared/recording.js';
import { moderates } from '../../../shared/roles.js';
import type { WebhookActor } from '../../../shared/webhooks.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Peer } from '../rooms/Peer.js';
import type { Room } from '../rooms/Room.js';
import type { Webhooks } from '../webhooks/Webhooks.js';
import { EgressJob, type EgressEnd } from './EgressJob.js';
import { canRun, Encoder, fileArgs, probeDuration, streamArgs } from './Encoder.js';
import type { RecordingStore } from './RecordingStore.js';

export interface StartEgress {
  kind: EgressKind;
  layout: RecordingLayout;
  /** The RTMP URL of a stream (with its key: kept in memory only). */
  url?: string;
  by: Actor;
}

export interface RecordingsOptions {
  config: Config;
  store: RecordingStore;
  webhooks: Webhooks;
  /** The address the compositor browser loads the page from (this server, on loopback). */
  origin: () => string;
  routerRtpCapabilities: Notifications['welcome']['routerRtpCapabilities'];
  log: Logger;
}

/** What one job is about, beside the job itself. */
interface Running {
  job: EgressJob;
  activity: EgressActivity;
  /** The recording's entry on disk; streams have none. */
  info?: RecordingInfo;
  url?: string;
  by: WebhookActor;
  /** Resolves when the output is finished and reported (file complete, description saved, webhooks sent). */
  done: Promise<void>;
}

const AUDIO_BITS_PER_SECOND = 128_000;

/**
 * Every recording and live stream on this server (docs/recording.md): at most one of each per
 * room, at most MAX_RECORDINGS at once, each stopped by MAX_RECORDING_MINUTES, by its room
 * closing, or by a host. Tells the room (recordingStatus, recordingReady), the operator (webhooks)
 * and keeps the files' descriptions (RecordingStore).
 */
export class Recordings {
  private readonly running = new Map<string, Running>();
  private readonly byTicket = new Map<string, EgressJob>();
  private toolsChecked: Promise<string | undefined> | undefined;

  constructor(private readonly options: RecordingsOptions) {}

  get store(): RecordingStore {
    return this.options.store;
  }

  status(roomId: string): RecordingStatus {
    return {
      recording: this.running.get(keyOf(roomId, 'recording'))?.activity ?? null,
      streaming: this.running.get(keyOf(roomId, 'stream'))?.activity ?? null,
    };
  }

  /** The running recording's description (the admin API answers with it). */
  current(roomId: string): RecordingInfo | undefined {
    return this.running.get(keyOf(roomId, 'recording'))?.info;
  }

  /** The compositor browser's process (tests end it to prove a crash leaves the meeting alone). */
  compositorPid(roomId: string, kind: EgressKind): number | undefined {
    return this.running.get(keyOf(roomId, kind))?.job?.compositorPid;
  }

  /** The job a compositor page's ticket belongs to. */
  jobFor(ticket: string): EgressJob | undefined {
    return this.byTicket.get(ticket);
  }

  /** A newcomer learns at once that the meeting is being recorded or streamed. */
  welcome(room: Room, peer: Peer): void {
    const status = this.status(room.id);
    if (status.recording || status.streaming) peer.notify('recordingStatus', status);
  }

  /** Starts the compositor and its output; resolves once media is being written (or rejects with why not). */
  async start(room: Room, request: StartEgress): Promise<RecordingStatus> {
    const { config, log } = this.options;
    const key = keyOf(room.id, request.kind);
    if (config.MAX_RECORDINGS === 0) throw new ConclaveError('UNSUPPORTED', 'Recording and streaming are turned off on this server (MAX_RECORDINGS=0)');
    if (this.running.has(key)) {
      throw new ConclaveError(
        'BAD_REQUEST',
        request.kind === 'recording' ? 'This meeting is already being recorded' : 'This meeting is already being streamed',
      );
    }
    if (this.running.size >= config.MAX_RECORDINGS) {
      throw new ConclaveError('UNAVAILABLE', `This server already runs ${config.MAX_RECORDINGS} recordings or streams (MAX_RECORDINGS); try again later`);
    }
    if (room.isClosed || room.peers.size === 0) throw new ConclaveError('NOT_FOUND', 'The meeting has ended');
    const missing = await this.checkTools();
    if (missing) throw new ConclaveError('UNSUPPORTED', missing);
    // Claimed before the awaits below, so two requests cannot both start one.
    const slot: Partial<Running> = {};
    this.running.set(key, slot as Running);
    try {
      if (request.kind === 'recording') await this.store.prepare();
    } catch (error) {
      this.running.delete(key);
      throw error;
    }
    const startedAt = new Date();
    const output = this.output();
    const info: RecordingInfo | undefined =
      request.kind === 'recording'
        ? {
            id: this.store.newId(room.id, startedAt),
            room: room.id,
            file: '',
            layout: request.layout,
            startedAt: startedAt.toISOString(),
            finishedAt: null,
            bytes: 0,
            durationSeconds: null,
            status: 'recording',
            endReason: null,
            mimeType: 'video/webm',
          }
        : undefined;
    if (info) info.file = `${info.id}.webm`;
    const jobLog = log.child({ room: room.id, [request.kind]: info?.id ?? redactStreamUrl(request.url ?? '') });
    const url = request.url;
    const job = new EgressJob({
      kind: request.kind,
      room,
      layout: request.layout,
      output,
      chromium: config.RECORDER_CHROMIUM,
      pageUrl: (ticket) => `${this.options.origin()}/recorder.html#ticket=${ticket}`,
      encoder: () =>
        new Encoder(
          config.FFMPEG_PATH,
          info ? fileArgs(this.store.partOf(info.id)) : streamArgs(url ?? '', output.frameRate, output.videoBitsPerSecond),
          (text) => (url ? text.split(url).join(redactStreamUrl(url)) : text),
          jobLog,
        ),
      ...(url ? { secretUrl: url } : {}),
      log: jobLog,
    });
    let markDone = (): void => undefined;
    const running: Running = {
      job,
      done: new Promise<void>((resolve) => (markDone = resolve)),
      activity: { since: startedAt.getTime(), layout: request.layout, startedBy: 'admin' in request.by ? null : request.by.displayName },
      by: 'admin' in request.by ? { admin: true } : { id: request.by.peerId, name: request.by.displayName },
      ...(info ? { info } : {}),
      ...(url ? { url } : {}),
    };
    Object.assign(slot, running);
    this.byTicket.set(job.ticket, job);
    if (info) await this.store.save(info);

    const closed = (): void => void job.end('meetingEnded');
    room.once('closed', closed);
    // Counted from when media flows, not from the browser's start.
    let limit: NodeJS.Timeout | undefined;
    job.once('started', () => {
      limit = setTimeout(() => void job.end('timeLimit'), config.MAX_RECORDING_MINUTES * 60_000);
      limit.unref();
    });
    job.on('streamProblem', (problem) => this.streamProblem(running, problem));
    const ended = new Promise<EgressEnd>((resolve) => {
      job.once('ended', (end) => {
        clearTimeout(limit);
        room.off('closed', closed);
        this.byTicket.delete(job.ticket);
        this.running.delete(key);
        resolve(end);
        this.finished(running, end)
          .catch((error: unknown) => jobLog.error({ err: error }, 'finishing the recording failed'))
          .finally(markDone);
      });
    });
    const started = new Promise<void>((resolve) => job.once('started', resolve));
    const first = await Promise.race([started.then(() => undefined), ended]);
    if (first)
      throw new ConclaveError('UNAVAILABLE', `The ${request.kind === 'recording' ? 'recording' : 'stream'} could not start: ${first.error ?? first.reason}`);
    running.activity.since = job.startedAt ?? running.activity.since;
    this.announce(room, request.kind, true);
    if (info) {
      this.options.webhooks.emit({
        event: 'recording_started',
        room: room.id,
        recording: { id: info.id, file: info.file, layout: info.layout },
        by: running.by,
      });
    } else {
      this.options.webhooks.emit({
        event: 'stream_started',
        room: room.id,
        stream: { url: redactStreamUrl(url ?? ''), layout: request.layout },
        by: running.by,
      });
    }
    return this.status(room.id);
  }

  /** Stops a room's recording or stream and waits until its file is complete. */
  async stop(roomId: string, kind: EgressKind, by: Actor): Promise<RecordingStatus> {
    const running = this.running.get(keyOf(roomId, kind));
    if (!running?.job) throw new ConclaveError('NOT_FOUND', kind === 'recording' ? 'This meeting is not being recorded' : 'This meeting is not being streamed');
    this.options.log.info({ room: roomId, kind, by: 'admin' in by ? 'admin' : by.peerId }, `stopping the ${kind}`);
    await running.job.end('stopped');
    await running.done;
    return this.status(roomId);
  }

  /** Server shutdown: every output is finished properly (files complete) before the workers go. */
  async closeAll(): Promise<void> {
    const all = [...this.running.values()].filter((running) => running.job !== undefined);
    await Promise.all(all.map((running) => running.job.end('serverShutdown')));
    await Promise.all(all.map((running) => running.done));
  }

  private output(): CompositorOutput {
    const { RECORDING_RESOLUTION, RECORDING_FRAME_RATE } = this.options.config;
    const pixels = RECORDING_RESOLUTION.width * RECORDING_RESOLUTION.height;
    return {
      ...RECORDING_RESOLUTION,
      frameRate: RECORDING_FRAME_RATE,
      // About 0.1 bit per pixel and frame: 2.3 Mbit/s at 720p25, enough for a mostly still grid.
      videoBitsPerSecond: Math.round(Math.min(6_000_000, Math.max(500_000, pixels * RECORDING_FRAME_RATE * 0.1))),
      audioBitsPerSecond: AUDIO_BITS_PER_SECOND,
      timesliceMs: 500,
      maxChunkBytes: 64 * 1024,
    };
  }

  private announce(room: Room, kind: EgressKind, started: boolean, reason?: EgressEnd['reason']): void {
    if (room.isClosed) return;
    room.broadcast('recordingStatus', { ...this.status(room.id), change: { kind, started, ...(reason ? { reason } : {}) } });
  }

  private streamProblem(running: Running, problem: { message: string; retrying: boolean; attempt: number }): void {
    const { room } = running.job;
    this.options.webhooks.emit({
      event: 'stream_failed',
      room: room.id,
      stream: { url: redactStreamUrl(running.url ?? ''), layout: running.activity.layout },
      error: problem.message,
      attempt: problem.attempt,
      retrying: problem.retrying,
    });
    for (const peer of room.peers.values()) if (moderates(peer.role)) peer.notify('streamProblem', problem);
  }

  private async finished(running: Running, end: EgressEnd): Promise<void> {
    const { job, info } = running;
    const room = job.room;
    // It never started: the caller was told why; nobody heard of it and nothing is kept.
    if (job.startedAt === null) {
      if (info) await this.store.discard(info.id);
      return;
    }
    this.announce(room, job.kind, false, end.reason);
    const error = end.error === undefined ? {} : { error: end.error };
    if (!info) {
      this.options.webhooks.emit({
        event: 'stream_finished',
        room: room.id,
        stream: { url: redactStreamUrl(running.url ?? ''), layout: running.activity.layout },
        reason: end.reason,
        ...error,
      });
      return;
    }
    const bytes = await this.store.complete(info.id);
    const durationSeconds = bytes > 0 ? await probeDuration(this.options.config.FFMPEG_PATH, this.store.fileOf(info.id)) : null;
    Object.assign(info, {
      finishedAt: new Date().toISOString(),
      bytes,
      durationSeconds,
      status: end.reason === 'failed' ? 'failed' : 'finished',
      endReason: end.reason,
    } satisfies Partial<RecordingInfo>);
    await this.store.save(info);
    this.options.webhooks.emit({
      event: 'recording_finished',
      room: room.id,
      recording: { id: info.id, file: info.file, layout: info.layout, bytes, durationSeconds },
      reason: end.reason,
      ...error,
    });
    if (bytes === 0 || room.isClosed) return;
    const ready = { id: info.id, file: info.file, bytes, durationSeconds, downloadUrl: this.store.downloadLink(info.id) };
    for (const peer of room.peers.values()) if (moderates(peer.role)) peer.notify('recordingReady', ready);
  }

  /** Chromium and ffmpeg are there and run: checked once, so a missing one is a clear refusal. */
  private checkTools(): Promise<string | undefined> {
    const { RECORDER_CHROMIUM, FFMPEG_PATH } = this.options.config;
    this.toolsChecked ??= (async () => {
      const problems: string[] = [];
      const chromium = await access(RECORDER_CHROMIUM, constants.X_OK).then(
        () => true,
        () => false,
      );
      if (!chromium) problems.push(`no browser at RECORDER_CHROMIUM=${RECORDER_CHROMIUM} (Debian: apt-get install chromium)`);
      if (!(await canRun(FFMPEG_PATH, ['-hide_banner', '-version'])))
        problems.push(`ffmpeg does not run (FFMPEG_PATH=${FFMPEG_PATH}; Debian: apt-get install ffmpeg)`);
      return problems.length > 0 ? `Recording is not available on this server: ${problems.join('; ')}` : undefined;
    })();
    return this.toolsChecked;
  }
}

function keyOf(roomId: string, kind: EgressKind): string {
  return `${kind}:${roomId}`;
}
