import type { types } from 'mediasoup';

/** The highest spatial layer there is (three simulcast encodings). */
export const MAX_SPATIAL_LAYER = 2;

/**
 * What decides one consumer. Two independent reasons keep it paused: the client has not set it up
 * yet (until `resumeConsumer`), and the client asked for a pause because nobody sees its tile. It
 * forwards only when neither holds, so neither request can undo the other. Its layers are the
 * lower of what the client's tile asks for and what the participant's downlink carries
 * (server/src/quality/DownlinkPolicy.ts), so neither overrides the other either.
 */
interface ConsumerGate {
  started: boolean;
  pausedByClient: boolean;
  /** The layers the client asked for (sized to its tile); undefined: the highest. */
  wishedSpatial: number | undefined;
  wishedTemporal: number | undefined;
  /** The highest spatial layer the downlink carries now; undefined: no limit. */
  linkCap: number | undefined;
  /** What mediasoup was last told, so an unchanged outcome is not sent again. */
  appliedSpatial: number | undefined;
  appliedTemporal: number | undefined;
}

/** What one participant's client asked of its consumers, and what its link allows. Consumers of a media reset start afresh. */
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

  isPausedByClient(consumer: types.Consumer): boolean {
    return this.gateOf(consumer).pausedByClient;
  }

  /** The client's wish (spatial undefined: keep the previous wish). */
  setWishedLayers(consumer: types.Consumer, spatialLayer: number | undefined, temporalLayer: number | undefined): void {
    const gate = this.gateOf(consumer);
    if (spatialLayer !== undefined) gate.wishedSpatial = spatialLayer;
    gate.wishedTemporal = temporalLayer;
  }

  /** The spatial layer the client's tile asks for. */
  wishedSpatialLayer(consumer: types.Consumer): number {
    return this.gateOf(consumer).wishedSpatial ?? MAX_SPATIAL_LAYER;
  }

  /** The downlink's limit; returns whether it changed. */
  setLinkCap(consumer: types.Consumer, spatialLayer: number | undefined): boolean {
    const gate = this.gateOf(consumer);
    if (gate.linkCap === spatialLayer) return false;
    gate.linkCap = spatialLayer;
    return true;
  }

  linkCap(consumer: types.Consumer): number | undefined {
    return this.gateOf(consumer).linkCap;
  }

  /** Tells mediasoup the layers the wish and the link allow together (simulcast and SVC consumers only). */
  async applyLayers(consumer: types.Consumer): Promise<void> {
    if (consumer.type !== 'simulcast' && consumer.type !== 'svc') return;
    const gate = this.gateOf(consumer);
    const spatialLayer = Math.min(gate.wishedSpatial ?? MAX_SPATIAL_LAYER, gate.linkCap ?? MAX_SPATIAL_LAYER);
    if (gate.appliedSpatial === spatialLayer && gate.appliedTemporal === gate.wishedTemporal) return;
    gate.appliedSpatial = spatialLayer;
    gate.appliedTemporal = gate.wishedTemporal;
    await consumer.setPreferredLayers({ spatialLayer, temporalLayer: gate.wishedTemporal });
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
      gate = {
        started: false,
        pausedByClient: false,
        wishedSpatial: undefined,
        wishedTemporal: undefined,
        linkCap: undefined,
        appliedSpatial: undefined,
        appliedTemporal: undefined,
      };
      this.gates.set(consumer, gate);
    }
    return gate;
  }
}
