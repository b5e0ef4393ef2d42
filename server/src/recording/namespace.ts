import type { Socket } from 'socket.io';
import type { Result } from '../../../shared/errors.js';
import {
  RECORDER_NAMESPACE,
  RecorderHandshake,
  RecorderRequests,
  type ParsedRecorderRequestOf,
  type RecorderRequestName,
  type RecorderResponses,
} from '../../../shared/recording.js';
import type { Logger } from '../logger.js';
import { failure, parseUntrusted, splitArgs, toFailure } from '../signaling/dispatch.js';
import type { ConclaveServer } from '../signaling/connection.js';
import type { EgressJob } from './EgressJob.js';
import type { Recordings } from './Recordings.js';

type Handler<K extends RecorderRequestName> = (job: EgressJob, request: ParsedRecorderRequestOf<K>) => Promise<RecorderResponses[K]> | RecorderResponses[K];

const handlers: { [K in RecorderRequestName]: Handler<K> } = {
  attach: (job, request) => job.attach(request),
  connectTransport: async (job, request) => {
    await job.connectTransport(request);
    return {};
  },
  resumeConsumer: async (job, request) => {
    await job.resumeConsumer(request);
    return {};
  },
  outputStarted: (job, request) => {
    job.outputStarted(request);
    return {};
  },
  chunk: async (job, request) => {
    await job.chunk(request);
    return {};
  },
  outputEnded: (job, request) => {
    job.pageEnded(request);
    return {};
  },
};

/**
 * The compositor pages' namespace (shared/recording.ts). Only a page the server itself started
 * gets in: its handshake carries the one-time ticket of a running job; anything else is
 * disconnected at once. Requests are validated like every other; a bad one is answered, never thrown.
 */
export function attachRecorder(io: ConclaveServer, recordings: Recordings, routerRtpCapabilities: Parameters<EgressJob['connect']>[1], log: Logger): void {
  const namespace = io.of(RECORDER_NAMESPACE);
  namespace.on('connection', (socket: Socket) => {
    const handshake = parseUntrusted(RecorderHandshake, socket.handshake.auth);
    const job = handshake.ok ? recordings.jobFor((handshake.data as { ticket: string }).ticket) : undefined;
    if (!job) {
      log.warn({ socket: socket.id }, 'a recorder connection without a valid ticket was refused');
      socket.disconnect(true);
      return;
    }
    for (const name of Object.keys(RecorderRequests) as RecorderRequestName[]) {
      socket.on(name, (...args: unknown[]) => {
        const { payload, ack } = splitArgs(args);
        answer(name, payload)
          .then((result) => ack?.(result))
          .catch((error: unknown) => log.error({ err: error, request: name }, 'recorder dispatch failed'));
      });
    }
    async function answer<K extends RecorderRequestName>(name: K, payload: unknown): Promise<Result<unknown>> {
      const parsed = parseUntrusted(RecorderRequests[name], payload);
      if (!parsed.ok) {
        log.warn({ request: name, problem: parsed.message }, 'the recorder sent a request that does not parse');
        return failure('BAD_REQUEST', `${name}: ${parsed.message}`);
      }
      try {
        return { ok: true, data: await (handlers[name] as Handler<K>)(job as EgressJob, parsed.data as ParsedRecorderRequestOf<K>) };
      } catch (error) {
        return toFailure(error, log, `recorder ${name}`);
      }
    }
    job.connect(socket, routerRtpCapabilities);
  });
}
