import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';
import type { Peer, ProducerAppData } from './Peer.js';
import type { RouterSet } from './RouterSet.js';

/**
 * The room's active speaker: an ActiveSpeakerObserver on the home router that every microphone is
 * fed to (piped there from the router its owner sits on). When the home router dies it starts
 * again on the new home with every microphone still open.
 */
export class SpeakerWatch {
  /** `observer`: made on the home router beforehand (SpeakerWatch.observe), so a room is built synchronously. */
  constructor(
    private observer: types.ActiveSpeakerObserver,
    private readonly routers: RouterSet,
    private readonly onSpeaker: (peerId: string) => void,
    private readonly log: Logger,
  ) {
    this.listen();
  }

  /** Feeds one microphone to the observer. Failures are logged: a call goes on without speaker highlights. */
  async add(peer: Peer, producer: types.Producer<ProducerAppData>): Promise<void> {
    try {
      const slot = this.routers.slotOf(peer);
      const { home } = this.routers;
      if (slot && slot !== home) await this.routers.pipe({ producerId: producer.id }, slot.router, home.router);
      await this.observer.addProducer({ producerId: producer.id });
    } catch (error) {
      this.log.warn({ err: error, producer: producer.id }, 'active speaker observer could not take a microphone');
    }
  }

  /** Feeds another node's microphone, already piped to the home router (a room spanning nodes). */
  async addRemote(producer: types.Producer<ProducerAppData>): Promise<void> {
    try {
      await this.observer.addProducer({ producerId: producer.id });
    } catch (error) {
      this.log.warn({ err: error, producer: producer.id }, 'active speaker observer could not take a microphone of another node');
    }
  }

  /** The home router changed: a new observer there, fed every open microphone of `peers`. */
  async moveHome(peers: Iterable<Peer>): Promise<void> {
    this.observer = await SpeakerWatch.observe(this.routers.home.router);
    this.listen();
    for (const peer of peers) {
      for (const producer of peer.producers.values()) {
        if (producer.appData.source === 'mic' && !producer.closed) void this.add(peer, producer);
      }
    }
  }

  static observe(router: types.Router): Promise<types.ActiveSpeakerObserver> {
    return router.createActiveSpeakerObserver({ interval: 300 });
  }

  private listen(): void {
    this.observer.on('dominantspeaker', ({ producer }) => this.onSpeaker((producer.appData as ProducerAppData).peerId));
  }
}
