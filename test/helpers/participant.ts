// Over ~350 lines on purpose: a browserless participant speaks the whole protocol (requests, answers,
// notifications, hand-built RTP parameters) for the tests.
import { randomBytes, randomInt } from 'node:crypto';
import type { types as client } from 'mediasoup-client';
import { io, type Socket } from 'socket.io-client';
import type { ErrorCode, Result } from '../../shared/errors.js';
import type {
  ClientToServerEvents,
  JoinResponse,
  MediaSource,
  NotificationName,
  Notifications,
  RequestName,
  RequestOf,
  Responses,
  ServerToClientEvents,
} from '../../shared/protocol.js';

/** One entry of a participant's timeline: a notification it received, or the answer to one of its requests. */
export type TimelineEntry = { type: 'notification'; event: string; payload: unknown } | { type: 'ack'; request: string; result: Result<unknown> };

type Waiter = { matches: (entry: TimelineEntry) => boolean; resolve: (entry: TimelineEntry) => void };

const SOURCE_KIND = { mic: 'audio', camera: 'video', screen: 'video' } as const satisfies Record<MediaSource, client.MediaKind>;
const SOURCE_CODEC = { mic: 'audio/opus', camera: 'video/VP8', screen: 'video/VP8' } as const satisfies Record<MediaSource, string>;

export const DEFAULT_TIMEOUT_MS = 10_000;

/** DTLS parameters of a pretend browser: a random sha-256 fingerprint (32 colon-separated hex bytes). */
export function fakeDtlsParameters(): RequestOf<'connectTransport'>['dtlsParameters'] {
  const value = [...randomBytes(32)].map((byte) => byte.toString(16).padStart(2, '0').toUpperCase()).join(':');
  return { role: 'client', fingerprints: [{ algorithm: 'sha-256', value }] };
}

/** The data of a successful Result; a failed one throws with its code, so a test shows why. */
export function unwrap<T>(result: Result<T>, what = 'request'): T {
  if (!result.ok) throw new Error(`${what} failed: ${result.error.code}: ${result.error.message}`);
  return result.data;
}

/** The error of a failed Result; a successful one throws, so a test shows what it unexpectedly got. */
export function failureOf(result: Result<unknown>): { code: ErrorCode; message: string } {
  if (result.ok) throw new Error(`expected a failure, got ok: ${JSON.stringify(result.data).slice(0, 200)}`);
  return result.error;
}

function isResult(value: unknown): value is Result<unknown> {
  if (typeof value !== 'object' || value === null || !('ok' in value)) return false;
  if (value.ok === true) return 'data' in value;
  if (value.ok !== false || !('error' in value)) return false;
  const error = value.error;
  return (
    typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && 'message' in error && typeof error.message === 'string'
  );
}

/**
 * A conference participant without a browser: a real Socket.IO client speaking the Conclave
 * protocol, with hand-built (but valid) RTP parameters. Every notification and every request's
 * answer is recorded in arrival order in `timeline`.
 */
export class TestParticipant {
  readonly timeline: TimelineEntry[] = [];
  /** Set by join(); cleared by leave(). */
  joined: JoinResponse | undefined;
  /** Resolves with the reason once the socket is disconnected (by either side). */
  readonly disconnected: Promise<string>;

  private readonly waiters = new Set<Waiter>();
  private sendTransportConnected = false;

  private constructor(
    readonly name: string,
    readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>,
    readonly welcome: Notifications['welcome'],
    disconnected: Promise<string>,
  ) {
    this.disconnected = disconnected;
  }

  /** Connects over WebSocket and waits for the server's welcome. */
  static async connect(url: string, name: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<TestParticipant> {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      autoConnect: false,
    });
    // Record from the very first packet: listeners are in place before connecting.
    const early: TimelineEntry[] = [];
    let participant: TestParticipant | undefined;
    socket.onAny((event: string, ...args: unknown[]) => {
      const entry: TimelineEntry = { type: 'notification', event, payload: args[0] };
      if (participant) participant.record(entry);
      else early.push(entry);
    });
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));

    const welcome = await new Promise<Notifications['welcome']>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.disconnect();
        reject(new Error(`${name}: no welcome within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('welcome', (payload) => {
        clearTimeout(timer);
        resolve(payload);
      });
      socket.once('connect_error', (error) => {
        clearTimeout(timer);
        reject(new Error(`${name}: could not connect: ${error.message}`));
      });
      socket.connect();
    });
    participant = new TestParticipant(name, socket, welcome, disconnected);
    for (const entry of early) participant.record(entry);
    return participant;
  }

  get routerRtpCapabilities(): client.RtpCapabilities {
    return this.welcome.routerRtpCapabilities;
  }

  get id(): string {
    if (!this.joined) throw new Error(`${this.name} has not joined`);
    return this.joined.self.id;
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  // ---- Notifications ----

  /** Payloads of every `event` notification received so far, in order. */
  notifications<K extends NotificationName>(event: K): Notifications[K][] {
    return this.timeline.flatMap((entry) => (entry.type === 'notification' && entry.event === event ? [payloadOf(event, entry)] : []));
  }

  /** Index in `timeline` of the first `event` notification matching `predicate`, or -1. */
  indexOf<K extends NotificationName>(event: K, predicate: (payload: Notifications[K]) => boolean = () => true): number {
    return this.timeline.findIndex((entry) => entry.type === 'notification' && entry.event === event && predicate(payloadOf(event, entry)));
  }

  /**
   * The first `event` notification (already received or still to come) that matches `predicate`.
   * Rejects after `timeoutMs` with the list of what did arrive.
   */
  waitFor<K extends NotificationName>(
    event: K,
    predicate: (payload: Notifications[K]) => boolean = () => true,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<Notifications[K]> {
    const matches = (entry: TimelineEntry): boolean => entry.type === 'notification' && entry.event === event && predicate(payloadOf(event, entry));
    const seen = this.timeline.find(matches);
    if (seen) return Promise.resolve(payloadOf(event, seen));
    return new Promise<Notifications[K]>((resolve, reject) => {
      const waiter: Waiter = {
        matches,
        resolve: (entry) => {
          clearTimeout(timer);
          resolve(payloadOf(event, entry));
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const got = this.timeline.map((entry) => (entry.type === 'notification' ? entry.event : `ack:${entry.request}`)).join(', ');
        reject(new Error(`${this.name}: no matching ${event} within ${timeoutMs} ms (timeline: ${got || 'empty'})`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  // ---- Requests ----

  /** Sends a typed request and resolves with the server's Result. */
  async request<K extends RequestName>(name: K, payload: RequestOf<K>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Result<Responses[K]>> {
    const result = await this.rawRequest(name, [payload], timeoutMs);
    // The server answers `name` with Result<Responses[name]>; rawRequest checked the Result shape.
    return result as Result<Responses[K]>;
  }

  /**
   * Emits anything (any event name, any arguments) with an acknowledgement callback appended, and
   * resolves with the answer, which must be a Result. Rejects if no answer comes within `timeoutMs`.
   */
  rawRequest(event: string, args: unknown[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Result<unknown>> {
    return new Promise<Result<unknown>>((resolve, reject) => {
      // Like emitWithAck with a timeout, but the answer is recorded in the timeline synchronously as
      // it arrives, so its position relative to notifications is exact.
      this.untyped.timeout(timeoutMs).emit(event, ...args, (error: unknown, answer: unknown) => {
        if (error) {
          reject(new Error(`${this.name}: no answer to ${event} within ${timeoutMs} ms`));
          return;
        }
        if (!isResult(answer)) {
          reject(new Error(`${this.name}: answer to ${event} is not a Result: ${JSON.stringify(answer)}`));
          return;
        }
        this.record({ type: 'ack', request: event, result: answer });
        resolve(answer);
      });
    });
  }

  /** Emits anything without an acknowledgement callback: for malformed traffic. */
  rawEmit(event: string, ...args: unknown[]): void {
    this.untyped.emit(event, ...args);
  }

  /** Index in `timeline` of the answer to the most recent `request`, or -1. */
  ackIndex(request: RequestName): number {
    return this.timeline.findLastIndex((entry) => entry.type === 'ack' && entry.request === request);
  }

  // ---- The conference flow ----

  /** Joins with the router's own capabilities (it can then receive everything); throws on failure. */
  async join(roomId: string, displayName: string = this.name): Promise<JoinResponse> {
    const response = unwrap(await this.request('join', { roomId, displayName, rtpCapabilities: this.joinCapabilities() }), `${this.name} join`);
    this.joined = response;
    this.sendTransportConnected = false;
    return response;
  }

  /** Capabilities for a join request: the router's, in the request schema's shape. */
  joinCapabilities(): RequestOf<'join'>['rtpCapabilities'] {
    const { codecs, headerExtensions } = this.routerRtpCapabilities;
    return {
      codecs: codecs?.map((codec) => ({ ...codec })),
      headerExtensions: headerExtensions?.map(({ kind, uri, preferredId, preferredEncrypt, direction }) => ({
        kind,
        uri,
        preferredId,
        preferredEncrypt,
        direction,
      })),
    };
  }

  async leave(): Promise<void> {
    unwrap(await this.request('leave', {}), `${this.name} leave`);
    this.joined = undefined;
  }

  get sendTransportId(): string {
    if (!this.joined) throw new Error(`${this.name} has not joined`);
    return this.joined.sendTransport.id;
  }

  get recvTransportId(): string {
    if (!this.joined) throw new Error(`${this.name} has not joined`);
    return this.joined.recvTransport.id;
  }

  /** Valid RTP parameters for one track of `source`, built by hand from the router capabilities. */
  rtpParametersFor(source: MediaSource): RequestOf<'produce'>['rtpParameters'] {
    const mimeType = SOURCE_CODEC[source];
    const codec = this.routerRtpCapabilities.codecs?.find((candidate) => candidate.mimeType.toLowerCase() === mimeType.toLowerCase());
    if (!codec) throw new Error(`the router offers no ${mimeType}`);
    return {
      codecs: [
        SOURCE_KIND[source] === 'audio'
          ? { mimeType: codec.mimeType, payloadType: codec.preferredPayloadType, clockRate: 48000, channels: 2 }
          : { mimeType: codec.mimeType, payloadType: codec.preferredPayloadType, clockRate: 90000 },
      ],
      encodings: [{ ssrc: randomInt(1_000, 2 ** 31) }],
      rtcp: { cname: `${this.name}-${randomBytes(4).toString('hex')}`, reducedSize: true },
    };
  }

  /** A complete, valid produce request for `source` on the send transport; `overrides` replace fields. */
  produceRequest(source: MediaSource, overrides: Partial<RequestOf<'produce'>> = {}): RequestOf<'produce'> {
    // Overrides may pair a source with the wrong kind on purpose (the server must refuse it), which the type forbids.
    return {
      transportId: this.sendTransportId,
      kind: SOURCE_KIND[source],
      rtpParameters: this.rtpParametersFor(source),
      source,
      ...overrides,
    } as RequestOf<'produce'>;
  }

  /** Uses the transports of a `mediaReset` (the room moved workers) from now on; publish again after it. */
  adoptMediaReset(reset: Notifications['mediaReset']): void {
    if (!this.joined) throw new Error(`${this.name} has not joined`);
    this.joined = { ...this.joined, sendTransport: reset.sendTransport, recvTransport: reset.recvTransport };
    this.sendTransportConnected = false;
  }

  /** DTLS-connects the send transport once (with fake parameters; no media flows in these tests). */
  async connectSendTransport(): Promise<void> {
    if (this.sendTransportConnected) return;
    unwrap(
      await this.request('connectTransport', { transportId: this.sendTransportId, dtlsParameters: fakeDtlsParameters() }),
      `${this.name} connectTransport`,
    );
    this.sendTransportConnected = true;
  }

  /** Publishes a `source` track; resolves with the producer id, throws on failure. */
  async produce(source: MediaSource, options: { paused?: boolean } = {}): Promise<string> {
    await this.connectSendTransport();
    const request = this.produceRequest(source, options.paused === undefined ? {} : { paused: options.paused });
    return unwrap(await this.request('produce', request), `${this.name} produce ${source}`).producerId;
  }

  /**
   * Takes the place of `previous`, whose connection dropped (or is about to be taken over): sends
   * `resume` with the id and token of its join answer. On success this participant acts as that
   * one (its id, its transports); resolves with the server's Result either way.
   */
  async resume(previous: TestParticipant, resumeToken?: string): Promise<Result<Responses['resume']>> {
    const joined = previous.joined;
    if (!joined) throw new Error(`${previous.name} has not joined`);
    const result = await this.request('resume', { peerId: joined.self.id, resumeToken: resumeToken ?? joined.resumeToken });
    if (result.ok) {
      this.joined = joined;
      this.sendTransportConnected = previous.sendTransportConnected;
    }
    return result;
  }

  /**
   * Simulates a network drop: closes the underlying Engine.IO connection without a Socket.IO
   * disconnect packet, so the server sees a lost transport rather than a leave (the socket does
   * not reconnect by itself). Resolves with the client-side disconnect reason.
   */
  async dropConnection(): Promise<string> {
    this.socket.io.engine.close();
    return this.disconnected;
  }

  /** Disconnects; resolves once the client side has closed. */
  async close(): Promise<void> {
    for (const waiter of this.waiters) this.waiters.delete(waiter);
    if (this.socket.connected) this.socket.disconnect();
    else this.socket.close();
    await Promise.race([this.disconnected, new Promise((resolve) => setTimeout(resolve, 1000))]);
  }

  // ---- internals ----

  private record(entry: TimelineEntry): void {
    this.timeline.push(entry);
    for (const waiter of [...this.waiters]) {
      if (waiter.matches(entry)) {
        this.waiters.delete(waiter);
        waiter.resolve(entry);
      }
    }
  }

  /**
   * The socket.io boundary. Socket.IO's typed emit cannot take a request name that is a type
   * parameter, and malformed-traffic tests must send what the protocol forbids; so emits go through
   * this one loosely typed view of the same socket.
   */
  private get untyped(): UntypedEmitter {
    return this.socket;
  }
}

interface UntypedEmitter {
  emit(event: string, ...args: unknown[]): unknown;
  timeout(ms: number): { emit(event: string, ...args: unknown[]): unknown };
}

/** A recorded notification's payload; the server emits `event` with Notifications[event]. */
function payloadOf<K extends NotificationName>(_event: K, entry: TimelineEntry): Notifications[K] {
  if (entry.type !== 'notification') throw new Error('not a notification');
  return entry.payload as Notifications[K];
}
