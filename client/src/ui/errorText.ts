import { ConclaveError, ErrorCode } from '../../../shared/errors.js';
import { computed, msg, type Msg } from '../i18n/i18n.js';

const CODES = new Set<string>(Object.values(ErrorCode));

/** The code of a failed request (a ConclaveError, or a refusal the server sent as `{ code, message }`), when it carries one of ours. */
export function errorCode(error: unknown): ErrorCode | null {
  if (error instanceof ConclaveError) return error.code;
  const code: unknown = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return typeof code === 'string' && CODES.has(code) ? (code as ErrorCode) : null;
}

/**
 * What went wrong, in the reader's language: a server's (or our own) error code as its translated
 * message rather than the English `message` it came with. Anything else (the browser's own errors)
 * keeps its text: there is no message of ours for it.
 */
export function errorText(error: unknown): Msg {
  const code = errorCode(error);
  if (code) return msg(`error.${code}`);
  const text =
    error instanceof Error ? error.message : typeof error === 'object' && error !== null && 'message' in error ? String(error.message) : String(error);
  return computed(() => text);
}
