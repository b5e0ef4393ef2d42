import { Redis } from 'ioredis';
import { ConclaveError } from '../../../shared/errors.js';
import type { Logger } from '../logger.js';

/** Every key this cluster writes starts with this, so a Redis shared with other applications stays readable. */
export const KEY_PREFIX = 'conclave:';

/** A command waits this long for Redis before it fails: a join must not hang on a stalled directory. */
const COMMAND_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 2000;
/** Reconnection keeps trying forever, never more than this far apart, so a returning Redis is found soon. */
const MAX_RECONNECT_DELAY_MS = 1000;

/**
 * Redis cannot be reached (or answered that it cannot serve now): what needs the cluster's
 * directory fails with this, as UNAVAILABLE to a client, while calls already running go on.
 */
export class ClusterUnavailableError extends ConclaveError {
  constructor(what: string, cause: unknown) {
    super('UNAVAILABLE', `The cluster directory (Redis) is unreachable, so ${what} cannot be done now; try again shortly`);
    this.name = 'ClusterUnavailableError';
    this.cause = cause;
  }
}

/** Redis said no for a reason that is about the server's state, not our command: the same as unreachable for us. */
const TRANSIENT_REPLIES = /^(LOADING|READONLY|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN|NOAUTH|WRONGPASS)\b/;

/** Redis refused the credentials of REDIS_URL: a configuration mistake, reported as such at startup. */
export function isAuthFailure(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  if (/\b(NOAUTH|WRONGPASS)\b|invalid username-password pair|without any password configured/i.test(message)) return true;
  return error instanceof Error && error.cause !== undefined && isAuthFailure(error.cause);
}

/**
 * Runs one directory operation; a Redis that is down, slow or refusing turns into
 * ClusterUnavailableError. A reply error about our command itself (a bug) is thrown as it is.
 */
export async function directoryCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const reply = error instanceof Error && error.name === 'ReplyError';
    if (reply && !TRANSIENT_REPLIES.test(error.message)) throw error;
    throw new ClusterUnavailableError(what, error);
  }
}

/**
 * The node's one Redis connection. Commands never queue while it is down (they fail at once, so a
 * join gets its answer), and it reconnects by itself for as long as it takes.
 */
export function connectRedis(url: string, log: Logger): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    keyPrefix: KEY_PREFIX,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(MAX_RECONNECT_DELAY_MS, 100 * attempt),
    // The replies this code reads are the classic (RESP2) shapes.
    protocol: 2,
  });
  let down = false;
  redis.on('error', (error: Error) => {
    // Reconnection errors repeat every second while Redis is away: say it once, and once when back.
    if (down) return;
    down = true;
    log.error({ err: error }, isAuthFailure(error) ? "Redis refused REDIS_URL's credentials" : 'Redis is unreachable; retrying');
  });
  redis.on('ready', () => {
    if (down) log.info('Redis is reachable again');
    down = false;
  });
  return redis;
}

/**
 * The first connection: resolves once connected, or when Redis is merely unreachable (the client
 * goes on retrying by itself); rejects when Redis refuses the credentials, which retrying cannot fix.
 */
export async function firstConnect(redis: Redis): Promise<void> {
  let refused: Error | undefined;
  // The refusal arrives as an 'error' event; connect() itself only says the connection closed.
  const onError = (error: Error): void => {
    if (isAuthFailure(error)) refused = error;
  };
  redis.on('error', onError);
  try {
    await redis.connect().catch((error: unknown) => {
      if (isAuthFailure(error)) refused ??= error as Error;
    });
  } finally {
    redis.off('error', onError);
  }
  if (refused) throw refused;
}
