import type { Domain } from './handlers.js';

/**
 * Data channels (chat, files, whiteboard, fast messages): opening a participant's channels,
 * catching up with the room, and the control side of file transfers. The messages themselves
 * travel over SCTP and are checked by the room's DataHub.
 */
export const dataHandlers = {
  async produceData(connection, request) {
    const { room, peer } = connection.joined();
    const dataProducer = await room.data.produce(peer, request);
    return { dataProducerId: dataProducer.id };
  },

  /** Sent once the client's data consumers are open: history and board as of now; live events follow. */
  dataSync(connection) {
    const { room, peer } = connection.joined();
    return room.data.sync(peer);
  },

  offerFile(connection, request) {
    const { room, peer } = connection.joined();
    return room.data.offerFile(peer, request);
  },

  cancelFile(connection, { fileId }) {
    const { room, peer } = connection.joined();
    room.data.cancelFile(peer, fileId);
    return {};
  },
} satisfies Domain;
