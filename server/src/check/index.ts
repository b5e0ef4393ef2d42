import type { Namespace, Socket } from 'socket.io';
import {
  CHECK_NAMESPACE,
  CheckHandshake,
  CheckRequests,
  type CheckClientEvents,
  type CheckRequestName,
  type CheckResponses,
  type CheckServerEvents,
  type ParsedCheckRequestOf,
} from '../../../shared/check.js';
import { ConclaveError, type Result } from '../../../shared/errors.js';
import { firstIssue } from '../../../shared/identity.js';
import { tokenVerifierFor } from '../auth/token.js';
import type { Config } from '../config.js';
import { clientAddress } from '../http/clientAddress.js';
import type { Logger } from '../logger.js';
import { NoWorkerError, type WorkerPool } from '../media/WorkerPool.js';
import { failure, splitArgs } from '../signaling/dispatch.js';
import type { ConclaveServer } from '../signaling/connection.js';
import { RateLimiter } from '../signaling/RateLimiter.js';
import { CheckSession } from './CheckSession.js';
import { CHECK_LIMITS, CHECK_RATE_BURST, CHECK_RATE_PER_SECOND, CHECK_SESSION_MS, MAX_ACTIVE_CHECKS, MAX_ACTIVE_CHECKS_PER_ADDRESS } from './limits.js';

export interface CheckContext {
  config: Config;
  log: Logger;
  pool: WorkerPool;
  trustedProxies: ReadonlySet<string>;
  version: string;
}

/** What an authorised check may ask; `ping` is open to anyone (it only proves signalling works). */
type Handler<K extends CheckRequestName> = (session: CheckSession, request: ParsedCheckRequestOf<K>) => Promise<CheckResponses[K]> | CheckResponses[K];
type HandlerTable = { [K in CheckRequestName]: Handler<K> };

const handlers: HandlerTable = {
  ping: () => ({ serverTime: Date.now() }),
  openTransport: (session, request) => session.openTransport(request),
  connectTransport: async (session, { transportId, dtlsParameters }) => {
    await session.transport(transportId).connect(dtlsParameters);
    return {};
  },
  closeTransport: (session, { transportId }) => {
    session.closeTransport(transportId);
    return {};
  },
  upload: (session, { transportId }) => session.transport(transportId).upload(),
  download: (session, { transportId }) => session.transport(transportId).download(),
};

/**
 * The pre-call check's namespace (docs/check.md). With join tokens configured, media and bandwidth
 * tests need a valid token (of any room) in the handshake, so the check is no open door to the
 * workers; signalling itself (`ping`) stays open, as the room namespace is.
 */
export function attachCheck(io: ConclaveServer, context: CheckContext): void {
  const namespace = io.of(CHECK_NAMESPACE) as unknown as Namespace<CheckClientEvents, CheckServerEvents>;
  const verifier = tokenVerifierFor(context.config);
  const active = new Map<string, number>();
  let total = 0;

  namespace.on('connection', (socket) => {
    const address = clientAddress(socket.request, context.trustedProxies);
    const log = context.log.child({ check: socket.id });
    const limiter = new RateLimiter(CHECK_RATE_PER_SECOND, CHECK_RATE_BURST);
    const session = new CheckSession(socket.id, {
      config: context.config,
      pool: context.pool,
      admit: () => {
        const mine = active.get(address) ?? 0;
        if (total >= MAX_ACTIVE_CHECKS || mine >= MAX_ACTIVE_CHECKS_PER_ADDRESS) return false;
        total++;
        active.set(address, mine + 1);
        return true;
      },
      release: () => {
        total--;
        const mine = (active.get(address) ?? 1) - 1;
        if (mine > 0) active.set(address, mine);
        else active.delete(address);
      },
    });
    const ended = setTimeout(() => socket.disconnect(true), CHECK_SESSION_MS);
    ended.unref();
    socket.on('disconnect', () => {
      clearTimeout(ended);
      session.close();
    });

    const authorization = authorize(verifier, socket.handshake.auth);
    const raw = socket as unknown as Socket;
    for (const name of Object.keys(CheckRequests) as CheckRequestName[]) {
      raw.on(name, (...args: unknown[]) => {
        const { payload, ack } = splitArgs(args);
        void answer(name, payload).then((result) => ack?.(result));
      });
    }
    raw.onAny((event: unknown, ...args: unknown[]) => {
      if (typeof event === 'string' && Object.hasOwn(CheckRequests, event)) return;
      splitArgs(args).ack?.(failure('BAD_REQUEST', 'Unknown check request'));
    });

    async function answer<K extends CheckRequestName>(name: K, payload: unknown): Promise<Result<unknown>> {
      if (!limiter.take()) return failure('RATE_LIMITED', 'Too many requests; slow down');
      const parsed = CheckRequests[name].safeParse(payload ?? {});
      if (!parsed.success) return failure('BAD_REQUEST', `${name}: ${firstIssue(parsed.error)}`);
      if (name !== 'ping') {
        const { authorized, problem } = await authorization;
        if (!authorized) return failure('NOT_AUTHORIZED', `This server needs a join token for the connection test${problem ? ` (${problem})` : ''}`);
      }
      try {
        return { ok: true, data: await (handlers[name] as Handler<K>)(session, parsed.data as ParsedCheckRequestOf<K>) };
      } catch (error) {
        if (error instanceof ConclaveError) return failure(error.code, error.message);
        if (error instanceof NoWorkerError) return failure('UNAVAILABLE', 'No media server is available right now; try again in a moment');
        log.error({ err: error, request: name }, 'check request failed');
        return failure('INTERNAL', `${name} failed on the server`);
      }
    }

    void authorization.then(({ authorized, problem }) => {
      socket.emit('checkWelcome', {
        serverVersion: context.version,
        turn: context.config.TURN_URLS.length > 0,
        tokenRequired: verifier !== undefined,
        authorized,
        ...(problem ? { tokenProblem: problem } : {}),
        limits: CHECK_LIMITS,
      });
    });
  });
}

async function authorize(verifier: ReturnType<typeof tokenVerifierFor>, auth: unknown): Promise<{ authorized: boolean; problem?: string }> {
  if (!verifier) return { authorized: true };
  const handshake = CheckHandshake.safeParse(auth ?? {});
  const token = handshake.success ? handshake.data.token : undefined;
  if (!token) return { authorized: false };
  try {
    await verifier.verify(token);
    return { authorized: true };
  } catch (error) {
    return { authorized: false, problem: error instanceof Error ? error.message : String(error) };
  }
}
