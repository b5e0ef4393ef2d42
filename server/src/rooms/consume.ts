import type { types } from 'mediasoup';
import type { ConsumerInfo } from '../../../shared/protocol.js';
import { isClientHeaderExtension } from '../../../shared/rtp.js';
import type { Logger } from '../logger.js';
import type { ConsumerAppData, Peer, ProducerAppData } from './Peer.js';
import type { RouterSet } from './RouterSet.js';

/** What fanning a producer out to a participant needs of its room. */
export interface FanoutRoom {
  routerSet: RouterSet;
  peers: ReadonlyMap<string, Peer>;
  /** Other nodes' producers, piped to the home router. */
  remoteProducers: ReadonlyMap<string, types.Producer<ProducerAppData>>;
  log: Logger;
}

/** Gives `consumer` a paused consumer of `producer`; resumed when the client has it. */
export async function consume(room: FanoutRoom, consumerPeer: Peer, producer: types.Producer<ProducerAppData>): Promise<void> {
  // One consumer per producer and participant: the fan-out at publish time and a newcomer's
  // consumeExisting (which runs after its join answer) can both reach the same pair.
  if (consumerPeer.receiving.has(producer.id)) return;
  const claim = {};
  consumerPeer.receiving.set(producer.id, claim);
  const release = (): void => {
    if (consumerPeer.receiving.get(producer.id) === claim) consumerPeer.receiving.delete(producer.id);
  };
  const target = room.routerSet.slotOf(consumerPeer);
  const owner = room.peers.get(producer.appData.peerId);
  const source = owner ? room.routerSet.slotOf(owner) : room.remoteProducers.get(producer.id) === producer ? room.routerSet.home : undefined;
  if (!target || !source) return release();
  let consumer: types.Consumer<ConsumerAppData>;
  try {
    if (source !== target) await room.routerSet.pipe({ producerId: producer.id }, source.router, target.router);
    if (!target.router.canConsume({ producerId: producer.id, rtpCapabilities: consumerPeer.rtpCapabilities })) {
      room.log.warn({ peer: consumerPeer.id, producer: producer.id }, 'participant cannot decode this producer');
      return release();
    }
    consumer = await consumerPeer.recvTransport.consume<ConsumerAppData>({
      producerId: producer.id,
      rtpCapabilities: consumerPeer.rtpCapabilities,
      paused: true,
      appData: { peerId: producer.appData.peerId, source: producer.appData.source },
    });
  } catch (error) {
    // A transport, router or the producer closed meanwhile: nothing to deliver.
    room.log.debug({ err: error, peer: consumerPeer.id }, 'consume abandoned');
    return release();
  }
  // The participant may have left (or moved after a worker death) while the consumer was made.
  if (consumerPeer.isClosed || consumer.closed || room.routerSet.slotOf(consumerPeer) !== target) {
    consumer.close();
    return release();
  }
  consumerPeer.consumers.set(consumer.id, consumer);
  const notifyClosed = (): void => {
    consumerPeer.consumers.delete(consumer.id);
    release();
    if (!consumerPeer.isClosed) consumerPeer.notify('consumerClosed', { consumerId: consumer.id });
  };
  consumer.on('transportclose', () => {
    consumerPeer.consumers.delete(consumer.id);
    release();
  });
  consumer.on('producerclose', notifyClosed);
  consumer.on('producerpause', () => consumerPeer.notify('consumerPaused', { consumerId: consumer.id }));
  consumer.on('producerresume', () => consumerPeer.notify('consumerResumed', { consumerId: consumer.id }));
  consumer.on('layerschange', (layers) => {
    consumerPeer.notify('consumerLayers', {
      consumerId: consumer.id,
      spatialLayer: layers?.spatialLayer ?? null,
      temporalLayer: layers?.temporalLayer ?? null,
    });
    const change = consumerPeer.session.preferences.layersChanged(consumer, layers);
    if (change) consumerPeer.session.record({ kind: 'layers', peerId: producer.appData.peerId, source: producer.appData.source, ...change });
  });
  // When bandwidth is short, the estimator serves a shared screen before cameras.
  if (producer.appData.source === 'screen') await consumer.setPriority(2).catch(() => undefined);
  const info: ConsumerInfo = {
    id: consumer.id,
    producerId: producer.id,
    peerId: producer.appData.peerId,
    kind: consumer.kind,
    source: producer.appData.source,
    rtpParameters: { ...consumer.rtpParameters, headerExtensions: consumer.rtpParameters.headerExtensions?.filter(isClientHeaderExtension) },
    producerPaused: consumer.producerPaused,
  };
  consumerPeer.notify('newConsumer', info);
}
