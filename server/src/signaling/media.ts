import type { types } from 'mediasoup';
import { whileOpen } from '../media/refusals.js';
import type { Domain } from './handlers.js';

/** The highest spatial layer a client may ask for (three simulcast encodings). */
const MAX_SPATIAL_LAYER = 2;

/**
 * Two independent reasons keep a consumer paused: the client has not set it up yet (until
 * `resumeConsumer`), and the client asked for a pause because nobody sees its tile. It forwards
 * only when neither holds, so neither request can undo the other.
 */
interface ConsumerGate {
  started: boolean;
  pausedByClient: boolean;
}

const gates = new WeakMap<types.Consumer, ConsumerGate>();

function gateOf(consumer: types.Consumer): ConsumerGate {
  let gate = gates.get(consumer);
  if (!gate) {
    gate = { started: false, pausedByClient: false };
    gates.set(consumer, gate);
  }
  return gate;
}

/** Both calls are idempotent in mediasoup; resuming a paused video consumer asks for a keyframe. */
async function applyGate(consumer: types.Consumer): Promise<void> {
  const { started, pausedByClient } = gateOf(consumer);
  if (started && !pausedByClient) await consumer.resume();
  else await consumer.pause();
}

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
    const { peer } = connection.joined();
    const consumer = peer.consumer(consumerId);
    const gate = gateOf(consumer);
    if (gate.started) return {};
    gate.started = true;
    await whileOpen(consumer, 'consumer', () => applyGate(consumer));
    return {};
  },

  /** How the client shows this consumer: layers sized to its tile, paused while nobody sees it. */
  async setConsumerPreferences(connection, { consumerId, paused, spatialLayer, temporalLayer }) {
    const { peer } = connection.joined();
    const consumer = peer.consumer(consumerId);
    // Recorded before any await, so a resumeConsumer arriving meanwhile already sees it.
    if (paused !== undefined) gateOf(consumer).pausedByClient = paused;
    const layered = consumer.type === 'simulcast' || consumer.type === 'svc';
    await whileOpen(consumer, 'consumer', async () => {
      if (layered && (spatialLayer !== undefined || temporalLayer !== undefined)) {
        // Layers before resuming, so the keyframe that resuming asks for is of the wanted layer.
        await consumer.setPreferredLayers({
          spatialLayer: spatialLayer ?? consumer.preferredLayers?.spatialLayer ?? MAX_SPATIAL_LAYER,
          temporalLayer,
        });
      }
      if (paused !== undefined) await applyGate(consumer);
    });
    return {};
  },
} satisfies Domain;
