import { parseScalabilityMode, type types } from 'mediasoup-client';
import type { MediaSource, Notifications, RequestOf } from '../../../shared/protocol.js';
import { layerToAsk, type QualityMode } from './qualityMode.js';

/** How one remote video is shown: whether anyone can see it, and how tall it is drawn. */
export interface VideoDemand {
  visible: boolean;
  /** Rendered height in device pixels. */
  height: number;
}

/** What the client asked of a consumer and what the server reports sending on it. */
export interface ReceptionState {
  /** Layers the server forwards now (consumerLayers); null while nothing is forwarded or not yet reported. */
  spatialLayer: number | null;
  temporalLayer: number | null;
  /** The spatial layer this client asked for; null until it asked (or for audio). */
  preferredSpatialLayer: number | null;
  /** Paused at this client's request because nobody can see it. */
  pausedByClient: boolean;
}

type PreferencesRequest = RequestOf<'setConsumerPreferences'>;

/**
 * The tallest rendering (device pixels) each lower layer is enough for; anything taller gets the
 * top layer. The camera's layers are a quarter, half and all of its resolution (180, 360 and 720
 * lines for a 720p camera).
 */
const LAYER_MAX_HEIGHTS = [200, 400];

/** Resizing a window or scrolling fires observers many times a second; the server hears the outcome. */
const DEBOUNCE_MS = 300;

/** The spatial layer a tile of this height needs, within the layers the consumer has. */
export function spatialLayerFor(height: number, spatialLayers: number): number {
  const needed = LAYER_MAX_HEIGHTS.findIndex((max) => height <= max);
  return Math.min(needed === -1 ? LAYER_MAX_HEIGHTS.length : needed, spatialLayers - 1);
}

interface TrackedVideo {
  consumer: types.Consumer;
  source: MediaSource;
  spatialLayers: number;
  temporalLayers: number;
  /** What the server was last asked for, so only changes are sent. */
  sent: { paused?: boolean; spatialLayer?: number; temporalLayer?: number };
}

const keyOf = (peerId: string, source: MediaSource): string => `${peerId}:${source}`;

/**
 * Receiving only what is needed: turns each remote video's demand (reported by the view) into
 * consumer preferences on the server — the layer that fits the tile, or a pause while nobody
 * can see it — debounced and sent only when they change.
 */
export class Reception {
  private readonly demands = new Map<string, VideoDemand>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly videos = new Map<string, TrackedVideo>();
  /** Reported layers by consumer id. */
  private readonly layers = new Map<string, Notifications['consumerLayers']>();
  private quality: QualityMode = 'auto';

  constructor(
    private readonly send: (request: PreferencesRequest) => Promise<void>,
    /** Off: every consumer gets everything (for comparison runs). */
    private readonly adaptive: boolean,
  ) {}

  /** The view's latest demand for a peer's camera or screen; null when it shows it no more. */
  setDemand(peerId: string, source: MediaSource, demand: VideoDemand | null): void {
    if (!this.adaptive) return;
    const key = keyOf(peerId, source);
    if (demand) this.demands.set(key, demand);
    else this.demands.delete(key);
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.apply(key);
      }, DEBOUNCE_MS),
    );
  }

  /**
   * A consumer was set up. For video, what its tile already asks for is sent at once, ahead of
   * the initial resume, so a hidden tile's video never starts and a small one starts small.
   */
  attach(consumer: types.Consumer, peerId: string, source: MediaSource): void {
    if (consumer.kind !== 'video') return;
    const { spatialLayers, temporalLayers } = parseScalabilityMode(consumer.rtpParameters.encodings?.[0]?.scalabilityMode);
    const key = keyOf(peerId, source);
    this.videos.set(key, { consumer, source, spatialLayers, temporalLayers, sent: {} });
    this.apply(key);
  }

  /** The user's quality setting: every video asks again. */
  setQuality(mode: QualityMode): void {
    this.quality = mode;
    for (const key of this.videos.keys()) this.apply(key);
  }

  detach(consumerId: string): void {
    this.layers.delete(consumerId);
    for (const [key, video] of this.videos) {
      if (video.consumer.id === consumerId) this.videos.delete(key);
    }
  }

  onLayers(report: Notifications['consumerLayers']): void {
    this.layers.set(report.consumerId, report);
  }

  state(consumerId: string): ReceptionState {
    const reported = this.layers.get(consumerId);
    const sent = [...this.videos.values()].find((video) => video.consumer.id === consumerId)?.sent;
    return {
      spatialLayer: reported?.spatialLayer ?? null,
      temporalLayer: reported?.temporalLayer ?? null,
      preferredSpatialLayer: sent?.spatialLayer ?? null,
      pausedByClient: sent?.paused ?? false,
    };
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.demands.clear();
    this.videos.clear();
    this.layers.clear();
  }

  private apply(key: string): void {
    const video = this.videos.get(key);
    const demand = this.demands.get(key);
    if (!video || !demand || video.consumer.closed) return;
    const { sent } = video;
    const changes: Omit<PreferencesRequest, 'consumerId'> = {};
    if (!demand.visible) {
      // Layers stay as they were: they matter again only when the tile is seen.
      if (sent.paused !== true) changes.paused = true;
    } else {
      const tileLayer = spatialLayerFor(demand.height, video.spatialLayers);
      const spatialLayer = layerToAsk(this.quality, tileLayer, video.spatialLayers, video.source === 'screen' ? 'screen' : 'camera');
      const temporalLayer = video.temporalLayers - 1;
      if (sent.paused !== false) changes.paused = false;
      if (video.spatialLayers > 1 || video.temporalLayers > 1) {
        if (sent.spatialLayer !== spatialLayer) changes.spatialLayer = spatialLayer;
        if (sent.temporalLayer !== temporalLayer) changes.temporalLayer = temporalLayer;
      }
    }
    if (Object.keys(changes).length === 0) return;
    Object.assign(sent, changes);
    void this.send({ consumerId: video.consumer.id, ...changes });
  }
}
