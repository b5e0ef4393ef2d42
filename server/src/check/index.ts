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
import type { Result } from '../../../shared/errors.js';
import { tokenVerifierFor } from '../auth/token.js';
import type { Config } from '../config.js';
import { clientAddress } from '../http/clientAddress.js';
import type { Logger } from '../logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import { failure, parseUntrusted, splitArgs, toFailure } from '../signaling/dispatch.js';
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
        answer(name, payload)
          .then((result) => ack?.(result))
          .catch((error: unknown) => log.error({ err: error, request: name }, 'check dispatch failed'));
      });
    }
    raw.onAny((event: unknown, ...args: unknown[]) => {
      if (typeof event === 'string' && Object.hasOwn(CheckRequests, event)) return;
      // Unknown events cost like requests, so they cannot be a free flood either.
      const refusal = limiter.take() ? failure('BAD_REQUEST', 'Unknown check request') : failure('RATE_LIMITED', 'Too many requests; slow down');
      splitArgs(args).ack?.(refusal);
    });

    async function answer<K extends CheckRequestName>(name: K, payload: unknown): Promise<Result<unknown>> {
      if (!limiter.take()) return failure('RATE_LIMITED', 'Too many requests; slow down');
      const parsed = parseUntrusted(CheckRequests[name], payload);
      if (!parsed.ok) return failure('BAD_REQUEST', `${name}: ${parsed.message}`);
      if (name !== 'ping') {
        const { authorized, problem } = await authorization;
        if (!authorized) return failure('NOT_AUTHORIZED', `This server needs a join token for the connection test${problem ? ` (${problem})` : ''}`);
      }
      try {
        return { ok: true, data: await (handlers[name] as Handler<K>)(session, parsed.data as ParsedCheckRequestOf<K>) };
      } catch (error) {
        return toFailure(error, log, `check ${name}`);
      }
    }

    void authorization.then(({ authorized, problem }) => {
      if (socket.disconnected) return;
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

/** Never rejects: a hostile handshake is simply not authorised. */
async function authorize(verifier: ReturnType<typeof tokenVerifierFor>, auth: unknown): Promise<{ authorized: boolean; problem?: string }> {
  if (!verifier) return { authorized: true };
  const handshake = parseUntrusted(CheckHandshake, auth);
  const token = handshake.ok ? (handshake.data as { token?: string }).token : undefined;
  if (!token) return { authorized: false };
  try {
    await verifier.verify(token);
    return { authorized: true };
  } catch (error) {
    return { authorized: false, problem: error instanceof Error ? error.message : String(error) };
  }
}
