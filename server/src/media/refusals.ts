import { NotFoundError, UnsupportedError } from 'mediasoup/errors';
import { ConclaveError } from '../../../shared/errors.js';

/**
 * mediasoup's worker answers parameters it cannot take (a reused ssrc, MID, RID or SCTP stream id)
 * with a plain Error. For calls built from a client's parameters that is the client's mistake:
 * answer BAD_REQUEST instead of logging a server fault.
 */
export async function refusedAsBadRequest<T>(action: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof ConclaveError || error instanceof TypeError) throw error;
    if (error instanceof UnsupportedError) throw error;
    throw new ConclaveError('BAD_REQUEST', `${action} refused: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A request on an object that closed while it ran (a producer ended meanwhile) is NOT_FOUND, not a fault. */
export async function whileOpen<T>(target: { readonly closed: boolean }, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // The worker may have dropped the object before Node hears of the close.
    if (target.closed || error instanceof NotFoundError) throw new ConclaveError('NOT_FOUND', `That ${what} has closed`);
    throw error;
  }
}
