import { ConclaveError } from '../../../shared/errors.js';
import { PROTOCOL_VERSION } from '../../../shared/protocol.js';

/**
 * Null when the server speaks this page's protocol; otherwise what to tell the user. A page the
 * browser kept from before a server upgrade (or a rollback) would otherwise fail later and
 * obscurely, on the first message whose shape changed. The server serves the matching page, so
 * reloading is the fix either way.
 */
export function protocolMismatch(serverVersion: number, pageVersion: number = PROTOCOL_VERSION): string | null {
  if (serverVersion === pageVersion) return null;
  const versions = `protocol ${pageVersion}, server ${serverVersion}`;
  return serverVersion > pageVersion
    ? `This page is out of date for the server (${versions}): reload the page.`
    : `This page is newer than the server (${versions}): reload the page.`;
}

/** The server speaks another protocol than this page: the versions, for views to word. */
export class ProtocolMismatchError extends ConclaveError {
  constructor(
    readonly pageVersion: number,
    readonly serverVersion: number,
    message: string,
  ) {
    super('UNSUPPORTED', message);
  }
}

/** The error that stops a page talking to a server of another protocol; null when they match. */
export function checkProtocol(serverVersion: number, pageVersion: number = PROTOCOL_VERSION): ProtocolMismatchError | null {
  const mismatch = protocolMismatch(serverVersion, pageVersion);
  return mismatch === null ? null : new ProtocolMismatchError(pageVersion, serverVersion, mismatch);
}
