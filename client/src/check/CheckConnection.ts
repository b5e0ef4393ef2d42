import { io, type Socket } from 'socket.io-client';
import {
  CHECK_NAMESPACE,
  type CheckClientEvents,
  type CheckRequestName,
  type CheckRequestOf,
  type CheckResponses,
  type CheckServerEvents,
  type CheckWelcome,
} from '../../../shared/check.js';
import { ConclaveError, type Result } from '../../../shared/errors.js';

const REQUEST_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 8000;

/**
 * The check's own Socket.IO connection (namespace /check), apart from a call's: it asks the server
 * for test transports and bandwidth runs. Opened once per run of the check; the token (if the
 * server wants one) goes in the handshake.
 */
export class CheckConnection {
  private readonly socket: Socket<CheckServerEvents, CheckClientEvents>;

  private constructor(serverUrl: string, token: string | undefined) {
    this.socket = io(`${serverUrl}${CHECK_NAMESPACE}`, {
      transports: ['websocket'],
      reconnection: false,
      autoConnect: false,
      timeout: CONNECT_TIMEOUT_MS,
      auth: token ? { token } : {},
    });
  }

  /**
   * Connects and resolves with the server's welcome; rejects when the server cannot be reached.
   * Aborting `signal` closes the connection (or gives up connecting), which ends its requests.
   */
  static open(serverUrl: string, token: string | undefined, signal?: AbortSignal): Promise<{ connection: CheckConnection; welcome: CheckWelcome }> {
    const connection = new CheckConnection(serverUrl, token);
    const { socket } = connection;
    return new Promise((resolve, reject) => {
      let connected = false;
      const timer = setTimeout(() => fail(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
      const onAbort = (): void => (connected ? connection.close() : fail(new Error('the check was stopped')));
      const fail = (error: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.disconnect();
        reject(new ConclaveError('INTERNAL', `Cannot reach the server: ${error.message}`));
      };
      if (signal?.aborted) return fail(new Error('the check was stopped'));
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('connect_error', fail);
      socket.once('checkWelcome', (welcome) => {
        connected = true;
        clearTimeout(timer);
        socket.off('connect_error', fail);
        resolve({ connection, welcome });
      });
      socket.connect();
    });
  }

  /** Sends a request; rejects with a ConclaveError carrying the server's code. */
  async request<K extends CheckRequestName>(name: K, payload: CheckRequestOf<K>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<CheckResponses[K]> {
    const timed = this.socket.timeout(timeoutMs);
    // Socket.IO cannot resolve its typed emit for a generic event name; the maps guarantee the shape.
    const emit = timed.emitWithAck.bind(timed) as (name: K, payload: CheckRequestOf<K>) => Promise<Result<CheckResponses[K]>>;
    let result: Result<CheckResponses[K]>;
    try {
      result = await emit(name, payload);
    } catch {
      throw new ConclaveError('INTERNAL', `${name}: no answer from the server within ${timeoutMs / 1000} s`);
    }
    if (!result.ok) throw new ConclaveError(result.error.code, result.error.message);
    return result.data;
  }

  close(): void {
    this.socket.disconnect();
  }
}
