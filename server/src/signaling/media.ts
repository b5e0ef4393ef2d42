import type { HandlerMap } from './connection.js';

/** Publishing, muting and receiving media. */
export const mediaHandlers: HandlerMap = {
  async produce(connection, request) {
    const { room, peer } = connection.joined();
    const producer = await room.produce(peer, request);
    return { producerId: producer.id };
  },

  closeProducer(connection, { producerId }) {
    const { peer } = connection.joined();
    peer.producer(producerId).close();
    return {};
  },

  /** Mute / camera off: the server stops forwarding and the others' consumers are told. */
  async setProducerPaused(connection, { producerId, paused }) {
    const { peer } = connection.joined();
    const producer = peer.producer(producerId);
    if (paused) await producer.pause();
    else await producer.resume();
    return {};
  },

  /** The client has created its side of the consumer; start forwarding (resume asks for a keyframe). */
  async resumeConsumer(connection, { consumerId }) {
    const { peer } = connection.joined();
    await peer.consumer(consumerId).resume();
    return {};
  },
};
