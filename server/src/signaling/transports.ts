import { ConclaveError } from '../../../shared/errors.js';
import type { ParsedRequestOf } from '../../../shared/protocol.js';
import type { Peer } from '../rooms/Peer.js';
import type { Domain } from './handlers.js';

/** DTLS connection and ICE restarts of a participant's own transports. */
export const transportHandlers = {
  async connectTransport(connection, { transportId, dtlsParameters }) {
    const { peer } = connection.joined();
    const transport = peer.transport(transportId);
    if (transport.appData.connectRequested) throw new ConclaveError('BAD_REQUEST', 'This transport is already connected');
    transport.appData.connectRequested = true;
    await transport.connect({ dtlsParameters });
    return {};
  },

  async restartIce(connection, { transportId }) {
    const session = connection.joined();
    const transport = session.peer.transport(transportId);
    const iceParameters = await transport.restartIce();
    session.record({ kind: 'iceRestart', transport: transport.appData.direction });
    return { iceParameters };
  },
} satisfies Domain;

type AheadDtlsParameters = NonNullable<ParsedRequestOf<'join'>['dtlsParameters']>;

/**
 * DTLS ahead (#15): connects a joining participant's two new transports with the DTLS parameters
 * its join carried, so the browser's handshake can start the moment ICE does, without a
 * `connectTransport` round trip first. mediasoup compares fingerprints as upper-case hex (as SDP
 * writes them); Chromium's `getFingerprints()` gives lower case.
 */
export async function connectAhead(peer: Peer, { role, fingerprints }: AheadDtlsParameters): Promise<void> {
  const dtlsParameters = { role, fingerprints: fingerprints.map(({ algorithm, value }) => ({ algorithm, value: value.toUpperCase() })) };
  const transports = [peer.sendTransport, peer.recvTransport];
  // Marked first: a connectTransport racing the join's answer is refused, not a second connect.
  for (const transport of transports) transport.appData.connectRequested = true;
  await Promise.all(transports.map((transport) => transport.connect({ dtlsParameters })));
}
