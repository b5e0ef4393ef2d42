import type { HandlerMap } from './connection.js';

/** DTLS connection and ICE restarts of a participant's own transports. */
export const transportHandlers: HandlerMap = {
  async connectTransport(connection, { transportId, dtlsParameters }) {
    const { peer } = connection.joined();
    await peer.transport(transportId).connect({ dtlsParameters });
    return {};
  },

  async restartIce(connection, { transportId }) {
    const { peer } = connection.joined();
    const iceParameters = await peer.transport(transportId).restartIce();
    return { iceParameters };
  },
};
