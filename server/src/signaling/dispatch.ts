import { UnsupportedError } from 'mediasoup/errors';
import type { Socket } from 'socket.io';
import type { ZodType } from 'zod';
import { ConclaveError, RedirectError, type ErrorCode, type Result } from '../../../shared/errors.js';
import { firstIssue } from '../../../shared/identity.js';
import { Requests, type ParsedRequestOf, type RequestName } from '../../../shared/protocol.js';
import type { Logger } from '../logger.js';
import { NoWorkerError } from '../media/WorkerPool.js';
import type { Connection } from './connection.js';
import type { Handler, HandlerTable } from './handlers.js';

/**
 * Binds the handler table to a socket. Each request is validated against the shared schema
 * before its handler runs; whatever happens, the client gets a typed Result, and nothing thrown
 * escapes into the process.
 */
export function registerHandlers(connection: Connection, handlers: HandlerTable): void {
  for (const name of Object.keys(Requests) as RequestName[]) {
    const handler = handlers[name] as Handler<typeof name>;
    // Inbound arguments are untrusted: read them as unknown rather than as the typed event map.
    (connection.socket as unknown as Socket).on(name, (...args: unknown[]) => {
      dispatch(connection, name, handler, args).catch((error: unknown) => connection.log.error({ err: error, request: name }, 'dispatch failed'));
    });
  }
}

export function splitArgs(args: unknown[]): { payload: unknown; ack: ((result: Result<unknown>) => void) | undefined } {
  const last = args[args.length - 1];
  const ack = typeof last === 'function' ? (last as (result: Result<unknown>) => void) : undefined;
  const payload = ack ? (args.length > 1 ? args[0] : undefined) : args[0];
  return { payload, ack };
}

async function dispatch<K extends RequestName>(connection: Connection, name: K, handler: Handler<K>, args: unknown[]): Promise<void> {
  const { payload, ack } = splitArgs(args);
  if (!connection.rateLimiter.take()) {
    ack?.(failure('RATE_LIMITED', `Too many requests; slow down (limit ${connection.context.config.RATE_LIMIT_PER_SECOND}/s)`));
    return;
  }
  let result: Result<unknown>;
  const afterReply: (() => void)[] = [];
  const parsed = parseRequest(name, payload);
  if (!parsed.ok) {
    result = failure('BAD_REQUEST', `${name}: ${parsed.message}`);
  } else {
    try {
      result = { ok: true, data: await handler(connection, parsed.data as ParsedRequestOf<K>, { afterReply: (task) => afterReply.push(task) }) };
    } catch (error) {
      result = toFailure(error, connection.log, name);
    }
  }
  if (ack) ack(result);
  for (const task of afterReply) task();
}

function parseRequest(name: RequestName, payload: unknown): { ok: true; data: unknown } | { ok: false; message: string } {
  return parseUntrusted(Requests[name], payload);
}

/** Validates an untrusted payload against a schema; never throws, whatever the payload's shape. */
export function parseUntrusted(schema: ZodType, payload: unknown): { ok: true; data: unknown } | { ok: false; message: string } {
  try {
    const parsed = schema.safeParse(payload ?? {});
    return parsed.success ? { ok: true, data: parsed.data } : { ok: false, message: firstIssue(parsed.error) };
  } catch {
    // Hostile shapes (e.g. a `length` object whose toString is not callable) can make the parser itself throw.
    return { ok: false, message: 'malformed payload' };
  }
}

export function failure(code: ErrorCode, message: string): Result<never> {
  return { ok: false, error: { code, message } };
}

/** A handler's error as the Result the client gets; only the server's own failures are logged as errors. */
export function toFailure(error: unknown, log: Logger, request: string): Result<never> {
  if (error instanceof RedirectError) return { ok: false, error: { code: error.code, message: error.message, redirect: error.url } };
  if (error instanceof ConclaveError) return failure(error.code, error.message);
  // mediasoup rejects invalid parameters with TypeError and codecs it cannot route with
  // UnsupportedError; both are the client's doing, not the server's.
  if (error instanceof TypeError) return failure('BAD_REQUEST', `${request}: ${error.message}`);
  if (error instanceof UnsupportedError) return failure('UNSUPPORTED', `${request}: ${error.message}`);
  if (error instanceof NoWorkerError) return failure('UNAVAILABLE', 'No media server is available right now; try again in a moment');
  log.error({ err: error, request }, 'request failed');
  return failure('INTERNAL', `${request} failed on the server`);
}
