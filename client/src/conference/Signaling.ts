import { io, type Socket } from 'socket.io-client';
import { ConclaveError, type Result } from '../../../shared/errors.js';
import type {
  ClientToServerEvents,
  Notifications,
  RequestName,
  RequestOf,
  Responses,
  ServerToClientEvents,
} from '../../../shared/protocol.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const REQUEST_TIMEOUT_MS = 10_000;

/** Typed request/notification channel to the server over one Socket.IO connection. */
export class Signaling {
  readonly socket: ClientSocket;

  constructor(serverUrl: string) {
    // WebSocket straight away: no long-polling upgrade round trips before the first request.
    this.socket = io(serverUrl, { transports: ['websocket'], autoConnect: false, reconnection: false });
  }

  connect(): void {
    this.socket.connect();
  }

  /** Sends a request and resolves with its data, or rejects with a ConclaveError carrying the server's code. */
  async request<K extends RequestName>(name: K, payload: RequestOf<K>): Promise<Responses[K]> {
    // Socket.IO cannot resolve its typed emit for a generic event name; the maps guarantee the shape.
    const timed = this.socket.timeout(REQUEST_TIMEOUT_MS);
    const emit = timed.emitWithAck.bind(timed) as (
      name: K,
      payload: RequestOf<K>,
    ) => Promise<Result<Responses[K]>>;
    let result: Result<Responses[K]>;
    try {
      result = await emit(name, payload);
    } catch {
      throw new ConclaveError('INTERNAL', `${name}: no answer from the server within ${REQUEST_TIMEOUT_MS / 1000} s`);
    }
    if (!result.ok) throw new ConclaveError(result.error.code, result.error.message);
    return result.data;
  }

  on<K extends keyof Notifications>(event: K, listener: (payload: Notifications[K]) => void): void {
    const on = this.socket.on.bind(this.socket) as (event: K, listener: (payload: Notifications[K]) => void) => void;
    on(event, listener);
  }

  /** Resolves with the next notification of this kind. */
  next<K extends keyof Notifications>(event: K): Promise<Notifications[K]> {
    return new Promise((resolve) => {
      const once = this.socket.once.bind(this.socket) as (event: K, listener: (payload: Notifications[K]) => void) => void;
      once(event, resolve);
    });
  }

  close(): void {
    this.socket.disconnect();
  }
}
