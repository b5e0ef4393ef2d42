import { io, type Socket } from 'socket.io-client';
import { ConclaveError, RedirectError, type Result } from '../../../shared/errors.js';
import type { ClientToServerEvents, Notifications, RequestName, RequestOf, Responses, ServerToClientEvents } from '../../../shared/protocol.js';
import { markJoin } from './joinMarks.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const REQUEST_TIMEOUT_MS = 10_000;

export type Welcome = Notifications['welcome'];

/** Why the connection dropped, and whether Socket.IO will try again by itself. */
export interface Disconnect {
  reason: string;
  /** False after a disconnect on purpose (the server's restart or takeover, or ours): only connect() brings it back. */
  retrying: boolean;
}

/** The server did not answer: it could not be reached (`request` null), or a request timed out. */
export class NoAnswerError extends ConclaveError {
  constructor(
    readonly request: string | null,
    readonly timeoutMs: number | null,
    message: string,
  ) {
    super('INTERNAL', message);
  }
}

export interface RequestOptions {
  /** Send even while the session is held (join and resume themselves). */
  immediate?: boolean;
  /** How long to wait for the answer (default 10 s). */
  timeoutMs?: number;
}

/**
 * Typed request/notification channel to the server over one Socket.IO connection. Socket.IO
 * reconnects with backoff; while the session is re-established the channel is *held*, and
 * ordinary requests wait so they never reach a server that does not know us yet. The socket
 * stays inside: callers see requests, notifications and the connection's ups and downs.
 */
export class Signaling {
  private socket: ClientSocket;
  private gate: Promise<void> = Promise.resolve();
  private openGate: () => void = () => undefined;
  private held = false;
  /** Every lasting listener, so a move to another node's socket takes them along. */
  private readonly bindings: ((socket: ClientSocket) => void)[] = [];

  constructor(private serverUrl: string) {
    this.socket = Signaling.socketTo(serverUrl);
  }

  private static socketTo(serverUrl: string): ClientSocket {
    // WebSocket straight away: no long-polling upgrade round trips before the first request.
    return io(serverUrl, {
      transports: ['websocket'],
      autoConnect: false,
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
    });
  }

  /** Whether the connection is up now. */
  get connected(): boolean {
    return this.socket.connected;
  }

  /** The server this channel talks to now (another node's after a redirect). */
  get url(): string {
    return this.serverUrl;
  }

  /**
   * Leaves this server for another (a cluster node that hosts the room) and connects there; resolves
   * with its welcome. The old socket goes quietly: its listeners are removed before it disconnects,
   * so nobody takes the move for a dropped connection.
   */
  moveTo(serverUrl: string): Promise<Welcome> {
    const old = this.socket;
    old.removeAllListeners();
    old.disconnect();
    this.serverUrl = serverUrl;
    this.socket = Signaling.socketTo(serverUrl);
    for (const bind of this.bindings) bind(this.socket);
    return this.open();
  }

  private bind(binding: (socket: ClientSocket) => void): void {
    this.bindings.push(binding);
    binding(this.socket);
  }

  /** Ordinary requests wait from now until release(). */
  hold(): void {
    if (this.held) return;
    this.held = true;
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.held = false;
    this.openGate();
  }

  /** Connects; resolves with the server's welcome, or rejects if the server cannot be reached. */
  open(): Promise<Welcome> {
    const welcome = this.next('welcome');
    const unreachable = new Promise<never>((_, reject) => {
      this.socket.once('connect_error', (error) => reject(new NoAnswerError(null, null, `Cannot reach the server: ${error.message}`)));
    });
    this.socket.once('connect', () => markJoin('socketConnected'));
    this.socket.connect();
    return Promise.race([welcome, unreachable]);
  }

  connect(): void {
    this.socket.connect();
  }

  /** Drops the connection and makes a new one (the server forgets this socket's requests). */
  reconnect(): void {
    this.socket.disconnect().connect();
  }

  onDisconnect(listener: (disconnect: Disconnect) => void): void {
    this.bind((socket) =>
      socket.on('disconnect', (reason) => listener({ reason, retrying: reason !== 'io server disconnect' && reason !== 'io client disconnect' })),
    );
  }

  /** Sends a request and resolves with its data, or rejects with a ConclaveError carrying the server's code. */
  async request<K extends RequestName>(
    name: K,
    payload: RequestOf<K>,
    { immediate = false, timeoutMs = REQUEST_TIMEOUT_MS }: RequestOptions = {},
  ): Promise<Responses[K]> {
    if (!immediate && this.held) await this.gate;
    // Socket.IO cannot resolve its typed emit for a generic event name; the maps guarantee the shape.
    const timed = this.socket.timeout(timeoutMs);
    const emit = timed.emitWithAck.bind(timed) as (name: K, payload: RequestOf<K>) => Promise<Result<Responses[K]>>;
    let result: Result<Responses[K]>;
    try {
      result = await emit(name, payload);
    } catch {
      throw new NoAnswerError(name, timeoutMs, `${name}: no answer from the server within ${timeoutMs / 1000} s`);
    }
    if (!result.ok) {
      const { code, message, redirect } = result.error;
      throw code === 'REDIRECT' && redirect !== undefined ? new RedirectError(redirect, message) : new ConclaveError(code, message);
    }
    return result.data;
  }

  on<K extends keyof Notifications>(event: K, listener: (payload: Notifications[K]) => void): void {
    this.bind((socket) => {
      const on = socket.on.bind(socket) as (event: K, listener: (payload: Notifications[K]) => void) => void;
      on(event, listener);
    });
  }

  /** Resolves with the next notification of this kind. */
  next<K extends keyof Notifications>(event: K): Promise<Notifications[K]> {
    return new Promise((resolve) => {
      const once = this.socket.once.bind(this.socket) as (event: K, listener: (payload: Notifications[K]) => void) => void;
      once(event, resolve);
    });
  }

  close(): void {
    this.release();
    this.socket.disconnect();
  }
}
