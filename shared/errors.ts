/** Error codes a client can show or act on; every failed request carries one. */
export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_JOINED: 'NOT_JOINED',
  ALREADY_JOINED: 'ALREADY_JOINED',
  NOT_FOUND: 'NOT_FOUND',
  FORBIDDEN: 'FORBIDDEN',
  ROOM_FULL: 'ROOM_FULL',
  TOO_MANY_ROOMS: 'TOO_MANY_ROOMS',
  RESUME_FAILED: 'RESUME_FAILED',
  RATE_LIMITED: 'RATE_LIMITED',
  /** A file, message or whiteboard beyond what the server accepts. */
  TOO_LARGE: 'TOO_LARGE',
  NOT_AUTHORIZED: 'NOT_AUTHORIZED',
  UNSUPPORTED: 'UNSUPPORTED',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** No media worker can take the request right now (all of them restarting): retry shortly. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The room is locked: this connection now waits in its lobby (see `knockAnswered`). */
  IN_LOBBY: 'IN_LOBBY',
  /** The room lives on another node of the cluster: join there (`ProtocolError.redirect`). */
  REDIRECT: 'REDIRECT',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ProtocolError {
  code: ErrorCode;
  message: string;
  /** With REDIRECT: the public URL of the node to send the same request to. */
  redirect?: string;
}

/** The acknowledgement of every request. */
export type Result<T> = { ok: true; data: T } | { ok: false; error: ProtocolError };

/** Thrown inside handlers when a request must fail with a specific code. */
export class ConclaveError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ConclaveError';
  }
}

/** The request belongs on another node of the cluster (REDIRECT): `url` is that node's public URL. */
export class RedirectError extends ConclaveError {
  constructor(
    readonly url: string,
    message: string,
  ) {
    super('REDIRECT', message);
    this.name = 'RedirectError';
  }
}
