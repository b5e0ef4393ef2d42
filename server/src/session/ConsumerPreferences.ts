import type { types } from 'mediasoup';
import type { LayerSwitchReason } from '../../../shared/diagnostics.js';

/** The highest spatial layer there is (three simulcast encodings). */
export const MAX_SPATIAL_LAYER = 2;

/** A layer switch this long after the wish or the link changed what is allowed is put down to that change. */
const CAUSE_WINDOW_MS = 10_000;

/** Why the forwarded layer is about to change: what it should reach, and until when that explains a switch. */
interface LayerCause {
  reason: Exclude<LayerSwitchReason, 'network'>;
  /** The spatial layer this change leads to (null: paused). */
  target: number | null;
  until: number;
}

/** A switch of the forwarded spatial layer worth a session event. */
export interface LayerSwitch {
  spatialLayer: number | null;
  temporalLayer: number | null;
  reason: LayerSwitchReason;
}

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
  /** The spatial layer mediasoup forwards now (null: none), as its layerschange last said. */
  forwarded: number | null;
  cause: LayerCause | undefined;
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

  /**
   * Tells mediasoup the layers the wish and the link allow together (simulcast and SVC consumers
   * only); `reason` is which of the two changed, for the switch that follows.
   */
  async applyLayers(consumer: types.Consumer, reason: LayerCause['reason']): Promise<void> {
    if (consumer.type !== 'simulcast' && consumer.type !== 'svc') return;
    const gate = this.gateOf(consumer);
    const spatialLayer = this.allowedSpatial(gate);
    if (gate.appliedSpatial === spatialLayer && gate.appliedTemporal === gate.wishedTemporal) return;
    if (gate.appliedSpatial !== spatialLayer) gate.cause = { reason, target: spatialLayer, until: Date.now() + CAUSE_WINDOW_MS };
    gate.appliedSpatial = spatialLayer;
    gate.appliedTemporal = gate.wishedTemporal;
    await consumer.setPreferredLayers({ spatialLayer, temporalLayer: gate.wishedTemporal });
  }

  /** Both calls are idempotent in mediasoup; resuming a paused video consumer asks for a keyframe. */
  async apply(consumer: types.Consumer): Promise<void> {
    const gate = this.gateOf(consumer);
    const forwarding = gate.started && !gate.pausedByClient;
    // Only the client starts and pauses a consumer: the switch that follows is its wish.
    if (consumer.paused === forwarding)
      gate.cause = { reason: 'wish', target: forwarding ? this.allowedSpatial(gate) : null, until: Date.now() + CAUSE_WINDOW_MS };
    if (forwarding) await consumer.resume();
    else await consumer.pause();
  }

  /**
   * mediasoup moved the layers it forwards: a switch worth recording when the spatial layer changed
   * (or started or stopped), with its cause — a recent wish or link change heading there, else the
   * network. Temporal flicker within a spatial layer is not one.
   */
  layersChanged(consumer: types.Consumer, layers: types.ConsumerLayers | undefined): LayerSwitch | undefined {
    const gate = this.gateOf(consumer);
    const spatialLayer = layers?.spatialLayer ?? null;
    if (spatialLayer === gate.forwarded) return undefined;
    gate.forwarded = spatialLayer;
    // The sender turned its camera off: nothing about this participant's link.
    if (spatialLayer === null && consumer.producerPaused) return undefined;
    const cause = gate.cause && gate.cause.until > Date.now() ? gate.cause : undefined;
    if (!cause || cause.target === spatialLayer) gate.cause = undefined;
    return { spatialLayer, temporalLayer: layers?.temporalLayer ?? null, reason: cause?.reason ?? 'network' };
  }

  private allowedSpatial(gate: ConsumerGate): number {
    return Math.min(gate.wishedSpatial ?? MAX_SPATIAL_LAYER, gate.linkCap ?? MAX_SPATIAL_LAYER);
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
        forwarded: null,
        cause: undefined,
      };
      this.gates.set(consumer, gate);
    }
    return gate;
  }
}
