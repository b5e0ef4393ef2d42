/**
 * The user's quality setting. Auto: send every simulcast layer and receive what each tile needs,
 * as far as the link carries it. Data saver: send and receive cameras at the lowest layer only
 * (about 150 kbit/s each) and cap a shared screen; for metered or poor connections. High: receive
 * every visible camera at its top layer whatever the tile size (still within what the link
 * carries).
 */
export const QUALITY_MODES = ['auto', 'saver', 'high'] as const;
export type QualityMode = (typeof QUALITY_MODES)[number];

export function isQualityMode(value: unknown): value is QualityMode {
  return typeof value === 'string' && (QUALITY_MODES as readonly string[]).includes(value);
}

/** What a mode lets us send: the camera's highest simulcast layer, and a shared screen's bitrate. */
export const SEND_LIMITS: Record<QualityMode, { cameraTopLayer: number; screenMaxBitrate: number }> = {
  auto: { cameraTopLayer: 2, screenMaxBitrate: 2_500_000 },
  saver: { cameraTopLayer: 0, screenMaxBitrate: 600_000 },
  high: { cameraTopLayer: 2, screenMaxBitrate: 2_500_000 },
};

/** The spatial layer to ask for a visible video, given the layer its tile needs and the layers there are. */
export function layerToAsk(mode: QualityMode, tileLayer: number, spatialLayers: number, source: 'camera' | 'screen'): number {
  if (source === 'screen') return tileLayer;
  if (mode === 'saver') return 0;
  if (mode === 'high') return spatialLayers - 1;
  return tileLayer;
}
