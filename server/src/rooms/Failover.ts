import type { Logger } from '../logger.js';
import { transportInfo, type Peer } from './Peer.js';
import type { RouterSet, RouterSlot } from './RouterSet.js';

/** What moving a room off a dead worker needs of the room. */
export interface FailoverRoom {
  routers(): RouterSet;
  /** Still one of the room's participants (not left, not removed, room open). */
  isMember(peer: Peer): boolean;
  isClosed(): boolean;
  /** Moves the home router's duties (active speaker, data plane) to a live router. */
  newHome(waitMs: number): Promise<void>;
  consumeExisting(peer: Peer): Promise<void>;
  /** Gives the room up: tells its participants to rejoin, closes it. */
  lose(message: string): void;
}

/**
 * Moving a room off a dead worker. Its participants get transports on a live router and publish
 * again; everyone else keeps going (what came from the dead router is closed and returns when
 * republished). Further faults during the move — the target worker dying too, every worker dying
 * at once — are retried on whatever is live, waiting for replacement workers, until the move
 * timeout; only then is the room given up, and its participants told so they rejoin by themselves.
 */
export class Failover {
  constructor(
    private readonly room: FailoverRoom,
    private readonly moveTimeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** The worker under `dead` died: moves the participants seated there (one move at a time per room). */
  async moveOff(dead: RouterSlot): Promise<void> {
    const routers = this.room.routers();
    if (this.room.isClosed() || !routers.drop(dead)) return;
    const movers = [...dead.peers];
    const deadline = Date.now() + this.moveTimeoutMs;
    this.log.warn({ worker: dead.host.index, peers: movers.length }, 'worker died; moving its participants');
    const homeMoved = dead !== routers.home || (await this.retryUntil(deadline, 'a new home router', () => this.room.newHome(deadline - Date.now())));
    const moved =
      homeMoved &&
      (
        await Promise.all(
          movers.map((peer) => this.retryUntil(deadline, `participant ${peer.id}`, () => this.moveParticipant(peer, deadline - Date.now(), dead))),
        )
      ).every(Boolean);
    if (this.room.isClosed()) return;
    if (moved) this.log.info({ routers: routers.count }, 'participants moved');
    else this.room.lose('The media server failed and the call could not be kept; rejoining…');
  }

  /** Runs `step` until it succeeds, backing off between tries; false when `deadline` passed first. */
  private async retryUntil(deadline: number, what: string, step: () => Promise<void>): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (this.room.isClosed()) return false;
      try {
        await step();
        return true;
      } catch (error) {
        if (this.room.isClosed()) return false;
        const waitMs = Math.min(1000, 100 * 2 ** attempt);
        if (Date.now() + waitMs > deadline) {
          this.log.error({ err: error, what, attempts: attempt + 1 }, 'giving up moving off the dead worker');
          return false;
        }
        this.log.warn({ err: error, what, attempt: attempt + 1, retryInMs: waitMs }, 'moving off the dead worker failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  /** One participant of a dead router: new transports on a live one, told to publish again. */
  private async moveParticipant(peer: Peer, waitMs: number, dead: RouterSlot): Promise<void> {
    if (peer.isClosed || !this.room.isMember(peer)) return;
    const routers = this.room.routers();
    const slot = await routers.place(waitMs);
    const transports = await routers.createTransports(slot, peer.id, peer.dataChannels);
    // That router's worker may have died meanwhile (its own move is queued): try another.
    if (slot.router.closed || peer.isClosed) {
      for (const transport of transports) transport.close();
      if (peer.isClosed) return;
      throw new Error(`router ${slot.router.id} closed while moving a participant to it`);
    }
    const [sendTransport, recvTransport] = transports;
    peer.replaceTransports(sendTransport, recvTransport);
    routers.seat(peer, slot);
    peer.session.record({ kind: 'workerMoved', fromWorker: dead.host.index, toWorker: slot.host.index });
    peer.notify('mediaReset', { sendTransport: transportInfo(sendTransport), recvTransport: transportInfo(recvTransport) });
    // Seated: if this router dies too, that death's own move takes the participant on.
    await this.room.consumeExisting(peer).catch((error: unknown) => this.log.warn({ err: error, peer: peer.id }, 'consuming after a move failed'));
  }
}
