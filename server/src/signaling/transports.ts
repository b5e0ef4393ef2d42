import { ConclaveError } from '../../../shared/errors.js';
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
