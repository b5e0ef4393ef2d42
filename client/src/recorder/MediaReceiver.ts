import { Device, type types } from 'mediasoup-client';
import type { ConsumerInfo } from '../../../shared/protocol.js';
import type { RecorderLink } from './RecorderLink.js';
import type { Scene } from './Scene.js';

/**
 * Receives the room's media like a participant no one sees: a mediasoup device and one receive
 * transport, a consumer for each announced track (resumed once we have it, so video never starts
 * black), and the room's changes passed on to the scene.
 */
export class MediaReceiver {
  private readonly consumers = new Map<string, types.Consumer>();
  /** What happened to consumers still being made (closed, or paused/resumed by their sender). */
  private readonly early = new Map<string, 'closed' | 'paused' | 'resumed'>();
  private markReady: (transport: types.Transport) => void = () => undefined;
  /** Consumers can be announced while the attach answer is on its way. */
  private readonly transport = new Promise<types.Transport>((resolve) => (this.markReady = resolve));

  constructor(
    private readonly link: RecorderLink,
    private readonly scene: Scene,
    /** The media connection is lost for good. */
    private readonly onFatal: (error: Error) => void,
  ) {
    link.on('participantJoined', (info) => scene.upsertParticipant(info));
    link.on('participantUpdated', (info) => scene.upsertParticipant(info));
    link.on('participantLeft', ({ peerId }) => {
      for (const [consumerId, consumer] of this.consumers) if (consumer.appData.peerId === peerId) this.close(consumerId);
      scene.removeParticipant(peerId);
    });
    link.on('activeSpeaker', ({ peerId }) => scene.setActiveSpeaker(peerId));
    link.on('newConsumer', (info) => void this.consume(info));
    link.on('consumerClosed', ({ consumerId }) => this.close(consumerId));
    link.on('consumerPaused', ({ consumerId }) => this.setPaused(consumerId, true));
    link.on('consumerResumed', ({ consumerId }) => this.setPaused(consumerId, false));
  }

  /** Loads the device, attaches to the room and makes the receive transport. */
  async attach(routerRtpCapabilities: types.RtpCapabilities): Promise<void> {
    const device = await Device.factory();
    await device.load({ routerRtpCapabilities });
    const { transport: info, participants, activeSpeaker } = await this.link.request('attach', { rtpCapabilities: device.rtpCapabilities });
    for (const participant of participants) this.scene.upsertParticipant(participant);
    this.scene.setActiveSpeaker(activeSpeaker);
    const transport = device.createRecvTransport(info);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.link.request('connectTransport', { dtlsParameters }).then(() => callback(), errback);
    });
    // Without ICE restarts in this protocol a failed transport stays failed: the recording would be black and silent.
    transport.on('connectionstatechange', (state) => {
      if (state === 'failed') this.onFatal(new Error('The media connection failed'));
    });
    this.markReady(transport);
  }

  private async consume(info: ConsumerInfo): Promise<void> {
    this.early.set(info.id, info.producerPaused ? 'paused' : 'resumed');
    const transport = await this.transport;
    try {
      const consumer = await transport.consume({
        id: info.id,
        producerId: info.producerId,
        kind: info.kind,
        rtpParameters: info.rtpParameters,
        appData: { peerId: info.peerId },
      });
      const fate = this.early.get(consumer.id);
      this.early.delete(consumer.id);
      if (fate === 'closed') return consumer.close();
      this.consumers.set(consumer.id, consumer);
      this.scene.addTrack({ consumerId: consumer.id, peerId: info.peerId, source: info.source, track: consumer.track, paused: fate === 'paused' });
      await this.link.request('resumeConsumer', { consumerId: consumer.id });
    } catch (error) {
      this.early.delete(info.id);
      // One track missing is not worth ending the recording for; the rest goes on.
      console.error(`Could not receive ${info.source} of ${info.peerId}:`, error);
    }
  }

  private setPaused(consumerId: string, paused: boolean): void {
    const early = this.early.get(consumerId);
    if (early === 'closed') return;
    if (early) this.early.set(consumerId, paused ? 'paused' : 'resumed');
    else this.scene.setPaused(consumerId, paused);
  }

  private close(consumerId: string): void {
    if (this.early.has(consumerId)) this.early.set(consumerId, 'closed');
    this.consumers.get(consumerId)?.close();
    this.consumers.delete(consumerId);
    this.scene.removeTrack(consumerId);
  }
}
