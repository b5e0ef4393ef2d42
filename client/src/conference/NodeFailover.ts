import type { Welcome } from './Signaling.js';
import type { Signaling } from './Signaling.js';

/** How long a lost connection is retried at its own node before another node is tried. */
const FAILOVER_AFTER_MS = 3000;

const originOf = (url: string): string => (URL.canParse(url) ? new URL(url).origin : url);

/**
 * In a cluster, where a client turns when its node is gone. The server lists the live nodes (the
 * `welcome`, then `clusterNodes`); while a lost connection stays down for FAILOVER_AFTER_MS,
 * signalling moves to the next other node, round the list. That node's welcome says whether the
 * cluster still counts our node as live: if so we go back and wait for it (our place is kept
 * there, and a blip must not cost it); if not, the caller takes our place back where we are now,
 * which means joining the room again, wherever the cluster places it.
 */
export class NodeFailover {
  private urls: string[] = [];
  /** The node our place in the room is on. */
  private home: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private next = 0;
  private hurry = false;

  constructor(private readonly signaling: Signaling) {
    signaling.on('welcome', ({ nodes }) => {
      if (nodes) this.urls = nodes.map(originOf);
    });
    signaling.on('clusterNodes', ({ urls }) => (this.urls = urls.map(originOf)));
  }

  /** We hold a place on the node signalling talks to now. */
  settled(): void {
    this.home = originOf(this.signaling.url);
    this.stop();
  }

  /** Our node said it is shutting down (`serverShutdown`): once the connection drops, go elsewhere at once. */
  homeClosing(): void {
    this.home = undefined;
    this.hurry = true;
  }

  /** The connection is lost: start trying other nodes if it stays down (at once if our node is shutting down). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tryAnother(), FAILOVER_AFTER_MS);
    if (this.hurry) setTimeout(() => this.tryAnother(), 0);
    this.hurry = false;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * A welcome while reconnecting: true when it came from another node that still lists ours as
   * live, in which case signalling is already on its way back home and the welcome is not ours to use.
   */
  shouldGoHome(welcome: Welcome): boolean {
    const here = originOf(this.signaling.url);
    if (this.home === undefined || here === this.home) return false;
    if (!(welcome.nodes ?? []).map(originOf).includes(this.home)) return false;
    this.signaling.moveTo(this.home).catch(() => undefined);
    return true;
  }

  private tryAnother(): void {
    if (this.signaling.connected) return;
    const here = originOf(this.signaling.url);
    const others = this.urls.filter((url) => url !== here);
    if (others.length === 0) return;
    const target = others[this.next++ % others.length]!;
    // A node that does not answer either: the next tick tries the one after it.
    this.signaling.moveTo(target).catch(() => undefined);
  }
}
