import { whileOpen } from '../media/refusals.js';
import type { Domain } from './handlers.js';

/** Publishing, muting and receiving media. */
export const mediaHandlers = {
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
    await whileOpen(producer, 'producer', () => (paused ? producer.pause() : producer.resume()));
    return {};
  },

  /** The client has created its side of the consumer; start forwarding unless it asked for a pause. */
  async resumeConsumer(connection, { consumerId }) {
    const { peer, preferences } = connection.joined();
    const consumer = peer.consumer(consumerId);
    if (!preferences.start(consumer)) return {};
    await whileOpen(consumer, 'consumer', () => preferences.apply(consumer));
    return {};
  },

  /** How the client shows this consumer: layers sized to its tile, paused while nobody sees it. */
  async setConsumerPreferences(connection, { consumerId, paused, spatialLayer, temporalLayer }) {
    const { peer, preferences } = connection.joined();
    const consumer = peer.consumer(consumerId);
    // Recorded before any await, so a resumeConsumer arriving meanwhile already sees it.
    if (paused !== undefined) preferences.setPaused(consumer, paused);
    const layersAsked = spatialLayer !== undefined || temporalLayer !== undefined;
    if (layersAsked) preferences.setWishedLayers(consumer, spatialLayer, temporalLayer);
    await whileOpen(consumer, 'consumer', async () => {
      // Layers before resuming, so the keyframe that resuming asks for is of the wanted layer.
      if (layersAsked) await preferences.applyLayers(consumer, 'wish');
      if (paused !== undefined) await preferences.apply(consumer);
    });
    return {};
  },
} satisfies Domain;
