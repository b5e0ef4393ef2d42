import { randomBytes } from 'node:crypto';
import type { Socket } from 'socket.io';
import { ConclaveError } from '../../../shared/errors.js';
import type { Notifications } from '../../../shared/protocol.js';
import {
  redactStreamUrl,
  type CompositorOutput,
  type EgressEndReason,
  type EgressKind,
  type ParsedRecorderRequestOf,
  type RecorderNotifications,
  type RecorderResponses,
  type RecordingLayout,
} from '../../../shared/recording.js';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import type { Logger } from '../logger.js';
import { transportInfo, type Peer, type PeerSession } from '../rooms/Peer.js';
import type { Room } from '../rooms/Room.js';
import { ConsumerPreferences } from '../session/ConsumerPreferences.js';
import { Compositor } from './Compositor.js';
import { Encoder, type EncoderExit } from './Encoder.js';

/** What the compositor is told about the room: the part of the room's notifications it draws from. */
const FORWARDED = new Set<keyof Notifications & keyof RecorderNotifications>([
  'participantJoined',
  'participantUpdated',
  'participantLeft',
  'newConsumer',
  'consumerClosed',
  'consumerPaused',
  'consumerResumed',
  'activeSpeaker',
]);

/** The compositor must be drawing and encoding within this long of being started. */
const START_TIMEOUT_MS = 45_000;
/** How long a dropped recorder connection waits for its browser's exit before it is reported as lost. */
const CRASH_REPORT_GRACE_MS = 1500;
/** After `finish`, the page has this long to hand over its last chunk. */
const FINISH_TIMEOUT_MS = 10_000;
/** A dropped stream is retried this many times in a row, waiting 2, 4, 8, 16, 30 s between. */
const STREAM_RETRIES = 5;
/** A stream that went out for this long before it dropped starts counting retries afresh. */
const STREAM_STABLE_MS = 60_000;

export interface EgressJobOptions {
  kind: EgressKind;
  room: Room;
  layout: RecordingLayout;
  output: CompositorOutput;
  chromium: string;
  /** The compositor page's address for a ticket. */
  pageUrl: (ticket: string) => string;
  /** A new encoder for this job's output (a file, or the RTMP URL). */
  encoder: () => Encoder;
  /** The RTMP URL, for taking it out of everything ffmpeg prints. */
  secretUrl?: string;
  log: Logger;
}

export interface EgressEnd {
  reason: EgressEndReason;
  error?: string;
}

type EgressJobEvents = {
  /** The compositor draws and the encoder takes its output: the recording or stream is on. */
  started: [];
  /** The stream's connection dropped; `retrying` says whether it will be tried again. */
  streamProblem: [{ message: string; retrying: boolean; attempt: number }];
  /** Everything is stopped and the output finished (a file is complete on disk). */
  ended: [EgressEnd];
};

type RecorderSocket = Socket;

/**
 * One recording or stream of one room: the compositor browser, its invisible place in the room,
 * and the ffmpeg its output goes to. Any part failing ends the job (a stream's encoder is retried
 * first) and never the meeting: the room only loses an observer.
 */
export class EgressJob extends TypedEmitter<EgressJobEvents> {
  readonly ticket = randomBytes(24).toString('base64url');
  startedAt: number | null = null;
  private readonly compositor: Compositor;
  private socket: RecorderSocket | undefined;
  private observer: Peer | undefined;
  private encoder: Encoder | undefined;
  /** Chunks are written only after the page said which output they belong to. */
  private accepting = false;
  private attempt = 0;
  private bytesReceived = 0;
  /** When the current stream encoder started sending (null: not yet, or it stopped). */
  private flowingSince: number | null = null;
  private finishing: Promise<EgressEnd> | undefined;
  private outputEnded: (() => void) | undefined;
  private readonly startTimer: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(private readonly options: EgressJobOptions) {
    super();
    this.log = options.log;
    this.compositor = new Compositor(options.chromium, options.pageUrl(this.ticket), options.log);
    this.compositor.on('exit', ({ code, signal, expected }) => {
      if (!expected) void this.end('failed', `The recorder's browser stopped unexpectedly (${signal ?? `exit ${code}`})`);
    });
    this.startTimer = setTimeout(() => void this.end('failed', 'The recorder did not start in time'), START_TIMEOUT_MS);
  }

  get kind(): EgressKind {
    return this.options.kind;
  }

  get room(): Room {
    return this.options.room;
  }

  get layout(): RecordingLayout {
    return this.options.layout;
  }

  get compositorPid(): number | undefined {
    return this.compositor.pid;
  }

  get ended(): boolean {
    return this.finishing !== undefined;
  }

  /** The compositor page connected with this job's ticket. */
  connect(socket: RecorderSocket, routerRtpCapabilities: Notifications['welcome']['routerRtpCapabilities']): void {
    if (this.socket || this.ended) {
      socket.disconnect(true);
      return;
    }
    this.socket = socket;
    socket.on('disconnect', () => {
      // A browser that crashed drops its connection before its process is reaped: give the exit a
      // moment to say so, so the report names the crash rather than its symptom.
      setTimeout(() => {
        if (!this.ended) void this.end('failed', 'The recorder lost its connection to the server');
      }, CRASH_REPORT_GRACE_MS).unref();
    });
    this.send('recorderWelcome', {
      roomId: this.room.id,
      kind: this.kind,
      layout: this.layout,
      output: this.options.output,
      routerRtpCapabilities,
    });
  }

  async attach({ rtpCapabilities }: ParsedRecorderRequestOf<'attach'>): Promise<RecorderResponses['attach']> {
    if (this.observer) throw new ConclaveError('ALREADY_JOINED', 'The recorder is already attached');
    if (this.ended) throw new ConclaveError('NOT_JOINED', 'This recording has ended');
    const session: PeerSession = {
      send: (event, payload) => {
        if ((FORWARDED as Set<string>).has(event)) this.send(event as keyof RecorderNotifications, payload as never);
      },
      connected: true,
      preferences: new ConsumerPreferences(),
      record: () => undefined,
      ended: () => undefined,
    };
    this.observer = await this.room.observe({ displayName: `${this.kind} compositor`, rtpCapabilities, session });
    if (this.ended) {
      this.room.unobserve(this.observer);
      throw new ConclaveError('NOT_JOINED', 'This recording has ended');
    }
    // The room closed (its meeting ended), or its media worker died: the observer's consumers are gone, so this output ends.
    this.observer.recvTransport.observer.once('close', () => {
      if (this.ended) return;
      if (this.room.isClosed) void this.end('meetingEnded');
      else void this.end('failed', 'The media server carrying the recording failed');
    });
    return {
      transport: transportInfo(this.observer.recvTransport),
      participants: [...this.room.peers.values()].map((peer) => peer.info),
      activeSpeaker: this.room.activeSpeaker !== null && this.room.peers.has(this.room.activeSpeaker) ? this.room.activeSpeaker : null,
    };
  }

  async connectTransport({ dtlsParameters }: ParsedRecorderRequestOf<'connectTransport'>): Promise<void> {
    await this.attached().recvTransport.connect({ dtlsParameters });
  }

  async resumeConsumer({ consumerId }: ParsedRecorderRequestOf<'resumeConsumer'>): Promise<void> {
    await this.attached().consumer(consumerId).resume();
  }

  outputStarted({ mimeType }: ParsedRecorderRequestOf<'outputStarted'>): void {
    if (this.ended) throw new ConclaveError('NOT_JOINED', 'This recording has ended');
    if (!/^video\/webm/i.test(mimeType)) throw new ConclaveError('UNSUPPORTED', `The recorder must produce WebM, not ${mimeType}`);
    this.encoder ??= this.newEncoder();
    this.accepting = true;
    // A file is being written now; a stream is live once the ingest took the connection (newEncoder).
    if (this.kind === 'recording') this.markStarted(mimeType);
  }

  private markStarted(mimeType: string): void {
    if (this.startedAt !== null || this.ended) return;
    clearTimeout(this.startTimer);
    this.startedAt = Date.now();
    this.log.info({ kind: this.kind, mimeType, pid: this.compositor.pid }, `${this.kind} started`);
    this.emit('started');
  }

  async chunk({ data }: ParsedRecorderRequestOf<'chunk'>): Promise<void> {
    if (!this.accepting || !this.encoder) return;
    this.bytesReceived += data.byteLength;
    await this.encoder.write(data);
  }

  /** The page sent everything it had (after `finish`), or gave up with an error. */
  pageEnded({ error }: ParsedRecorderRequestOf<'outputEnded'>): void {
    this.accepting = false;
    if (this.outputEnded) this.outputEnded();
    else if (!this.ended) void this.end('failed', `The recorder stopped: ${error ?? 'no reason given'}`);
  }

  /**
   * Stops everything and finishes the output. `stopped`-like reasons let the page hand over its last
   * chunk first; a failure keeps what was written. Calling it again returns the first outcome.
   */
  end(reason: EgressEndReason, error?: string): Promise<EgressEnd> {
    this.finishing ??= this.shutDown(reason, error);
    return this.finishing;
  }

  private async shutDown(reason: EgressEndReason, error: string | undefined): Promise<EgressEnd> {
    clearTimeout(this.startTimer);
    if (reason !== 'failed' && this.accepting && this.socket?.connected) {
      const handedOver = new Promise<void>((resolve) => (this.outputEnded = resolve));
      this.send('finish', {});
      await Promise.race([handedOver, new Promise((resolve) => setTimeout(resolve, FINISH_TIMEOUT_MS))]);
    }
    this.accepting = false;
    const encoderExit: EncoderExit | undefined = await this.encoder?.finish();
    this.compositor.stop();
    this.socket?.disconnect(true);
    if (this.observer) this.room.unobserve(this.observer);
    // A file ffmpeg could not finish is a failed recording, whatever stopped it.
    const unfinished = this.kind === 'recording' && encoderExit !== undefined && !encoderExit.ok;
    const end: EgressEnd = error
      ? { reason, error }
      : unfinished
        ? { reason: 'failed', error: this.bytesReceived === 0 ? 'It stopped before anything was recorded' : (encoderExit.error ?? 'the encoder failed') }
        : { reason };
    this.log.info({ kind: this.kind, ...end }, `${this.kind} ended`);
    this.emit('ended', end);
    return end;
  }

  private newEncoder(): Encoder {
    const secret = this.options.secretUrl;
    const encoder = this.options.encoder();
    void encoder.exited.then((exit) => this.encoderExited(encoder, exit));
    if (secret) {
      void encoder.flowing.then(() => {
        if (encoder !== this.encoder || this.ended) return;
        this.flowingSince = Date.now();
        this.log.info({ url: redactStreamUrl(secret), pid: encoder.pid, attempt: this.attempt }, 'the ingest took the stream');
        this.markStarted('video/webm');
      });
    }
    return encoder;
  }

  /** ffmpeg stopped by itself: a stream is tried again (a new header from the page), a recording ends. */
  private encoderExited(encoder: Encoder, exit: EncoderExit): void {
    if (this.ended || encoder !== this.encoder) return;
    const message = exit.error ?? 'the encoder stopped';
    if (this.kind === 'recording') {
      void this.end('failed', `Writing the recording failed: ${message}`);
      return;
    }
    this.accepting = false;
    this.encoder = undefined;
    // A stream that never went out fails its start at once: nobody is watching a retry loop yet.
    if (this.startedAt === null) {
      void this.end('failed', message);
      return;
    }
    // Counted afresh only after a stretch of streaming, so an ingest that drops each connection soon is given up.
    if (this.flowingSince !== null && Date.now() - this.flowingSince > STREAM_STABLE_MS) this.attempt = 0;
    this.flowingSince = null;
    this.attempt++;
    const retrying = this.attempt <= STREAM_RETRIES;
    this.log.warn({ attempt: this.attempt, retrying, error: message }, 'the stream connection dropped');
    this.emit('streamProblem', { message, retrying, attempt: this.attempt });
    if (!retrying) {
      void this.end('failed', `The stream failed ${STREAM_RETRIES + 1} times in a row: ${message}`);
      return;
    }
    const delay = Math.min(30_000, 1000 * 2 ** this.attempt);
    setTimeout(() => {
      if (this.ended) return;
      this.encoder = this.newEncoder();
      this.send('restartOutput', {});
    }, delay).unref();
  }

  private attached(): Peer {
    if (!this.observer) throw new ConclaveError('NOT_JOINED', 'Attach first');
    return this.observer;
  }

  private send<K extends keyof RecorderNotifications>(event: K, payload: RecorderNotifications[K]): void {
    (this.socket?.emit as ((event: K, payload: RecorderNotifications[K]) => boolean) | undefined)?.call(this.socket, event, payload);
  }
}
