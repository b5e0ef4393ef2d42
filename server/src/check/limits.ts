import type { CheckLimits } from '../../../shared/check.js';

/**
 * How far one pre-call check may go, so that it is no way to load a worker: a check holds at most
 * one transport per path, each lives a short while, and the bandwidth test is short and capped
 * both in time and in bytes. These are the numbers docs/check.md promises.
 */
export const CHECK_LIMITS: CheckLimits = {
  connectTimeoutMs: 8000,
  transportLifetimeMs: 30_000,
  bandwidthMs: 2500,
  bandwidthBytes: 4 * 1024 * 1024,
  chunkBytes: 16 * 1024,
};

/** A check connection is closed after this long: a whole check takes well under a minute. */
export const CHECK_SESSION_MS = 120_000;
/** Transports one check connection may open in its life (three paths, each tried twice). */
export const CHECK_TRANSPORTS_PER_SESSION = 6;
/** Check connections holding media at once: on the whole server, and from one client address. */
export const MAX_ACTIVE_CHECKS = 32;
export const MAX_ACTIVE_CHECKS_PER_ADDRESS = 4;
/** Requests per second (and burst) of one check connection. */
export const CHECK_RATE_PER_SECOND = 5;
export const CHECK_RATE_BURST = 20;
/** The association's send buffer of a check transport, and the level a full one must drain to. */
export const CHECK_SCTP_SEND_BUFFER_BYTES = 512 * 1024;
export const CHECK_LOW_WATER_BYTES = 128 * 1024;
