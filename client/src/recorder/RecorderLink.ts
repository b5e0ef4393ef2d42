import { io, type Socket } from 'socket.io-client';
import { ConclaveError, type Result } from '../../../shared/errors.js';
import {
  RECORDER_NAMESPACE,
  type RecorderClientEvents,
  type RecorderNotifications,
  type RecorderRequestName,
  type RecorderRequestOf,
  type RecorderResponses,
  type RecorderServerEvents,
  type RecorderWelcome,
} from '../../../shared/recording.js';

const REQUEST_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The compositor's connection to the server that started it (namespace /recorder, same origin),
 * proven by the one-time ticket. It does not reconnect: the ticket is spent, and the server
 * starts a new compositor if this one is lost.
 */
export class RecorderLink {
  private readonly socket: Socket<RecorderServerEvents, RecorderClientEvents>;

  constructor(ticket: string) {
    this.socket = io(RECORDER_NAMESPACE, {
      transports: ['websocket'],
      reconnection: false,
      autoConnect: false,
      timeout: CONNECT_TIMEOUT_MS,
      auth: { ticket },
    });
  }

  /** Connects; resolves with the server's welcome, or rejects when refused or unreachable. */
  open(): Promise<RecorderWelcome> {
    const welcome = this.next('recorderWelcome');
    const refused = new Promise<never>((_, reject) => {
      this.socket.once('connect_error', (error) => reject(new ConclaveError('INTERNAL', `Cannot reach the server: ${error.message}`)));
    });
    this.socket.connect();
    return Promise.race([welcome, refused]);
  }

  /** Sends a request; rejects with a ConclaveError carrying the server's code. */
  async request<K extends RecorderRequestName>(name: K, payload: RecorderRequestOf<K>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<RecorderResponses[K]> {
    const timed = this.socket.timeout(timeoutMs);
    // Socket.IO cannot resolve its typed emit for a generic event name; the maps guarantee the shape.
    const emit = timed.emitWithAck.bind(timed) as (name: K, payload: RecorderRequestOf<K>) => Promise<Result<RecorderResponses[K]>>;
    let result: Result<RecorderResponses[K]>;
    try {
      result = await emit(name, payload);
    } catch {
      throw new ConclaveError('INTERNAL', `${name}: no answer from the server within ${timeoutMs / 1000} s`);
    }
    if (!result.ok) throw new ConclaveError(result.error.code, result.error.message);
    return result.data;
  }

  on<K extends keyof RecorderNotifications>(event: K, listener: (payload: RecorderNotifications[K]) => void): void {
    const on = this.socket.on.bind(this.socket) as (event: K, listener: (payload: RecorderNotifications[K]) => void) => void;
    on(event, listener);
  }

  onDisconnect(listener: (reason: string) => void): void {
    this.socket.on('disconnect', listener);
  }

  close(): void {
    this.socket.disconnect();
  }

  private next<K extends keyof RecorderNotifications>(event: K): Promise<RecorderNotifications[K]> {
    return new Promise((resolve) => {
      const once = this.socket.once.bind(this.socket) as (event: K, listener: (payload: RecorderNotifications[K]) => void) => void;
      once(event, resolve);
    });
  }
}
