import type { types } from 'mediasoup';

/**
 * Two independent reasons keep a consumer paused: the client has not set it up yet (until
 * `resumeConsumer`), and the client asked for a pause because nobody sees its tile. It forwards
 * only when neither holds, so neither request can undo the other.
 */
interface ConsumerGate {
  started: boolean;
  pausedByClient: boolean;
}

/** What one participant's client asked of its consumers. Consumers of a media reset start afresh. */
export class ConsumerPreferences {
  private readonly gates = new WeakMap<types.Consumer, ConsumerGate>();

  /** The client has its side of the consumer; false when it had already said so. */
  start(consumer: types.Consumer): boolean {
    const gate = this.gateOf(consumer);
    if (gate.started) return false;
    gate.started = true;
    return true;
  }

  setPaused(consumer: types.Consumer, paused: boolean): void {
    this.gateOf(consumer).pausedByClient = paused;
  }

  /** Both calls are idempotent in mediasoup; resuming a paused video consumer asks for a keyframe. */
  async apply(consumer: types.Consumer): Promise<void> {
    const { started, pausedByClient } = this.gateOf(consumer);
    if (started && !pausedByClient) await consumer.resume();
    else await consumer.pause();
  }

  private gateOf(consumer: types.Consumer): ConsumerGate {
    let gate = this.gates.get(consumer);
    if (!gate) {
      gate = { started: false, pausedByClient: false };
      this.gates.set(consumer, gate);
    }
    return gate;
  }
}
