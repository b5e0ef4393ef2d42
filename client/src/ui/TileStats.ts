import type { ConferenceClient } from '../conference/ConferenceClient.js';
import type { ConferenceStats } from '../conference/types.js';
import { t } from '../i18n/i18n.js';
import type { Tile } from './Tile.js';

const STATS_INTERVAL_MS = 1000;

/** The per-tile overlay of the statistics view: what each video is sent and received as, every second. */
export class TileStats {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly client: ConferenceClient,
    private readonly tiles: () => Iterable<Tile>,
  ) {}

  get shown(): boolean {
    return this.timer !== undefined;
  }

  show(): void {
    if (this.timer !== undefined) return;
    const refresh = (): void =>
      void this.client.stats().then(
        (stats) => this.render(stats),
        () => undefined,
      );
    this.timer = setInterval(refresh, STATS_INTERVAL_MS);
    refresh();
  }

  hide(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const tile of this.tiles()) tile.setStats(null);
  }

  private render(stats: ConferenceStats): void {
    // The interval may have been stopped while this sample was collected.
    if (this.timer === undefined) return;
    // Plain digits: these are technical readings, not prose quantities.
    const layer = (value: number | null): string => (value === null ? '–' : String(value));
    const size = (frames: { frameWidth?: number; frameHeight?: number; framesPerSecond?: number }) => ({
      width: String(frames.frameWidth ?? 0),
      height: String(frames.frameHeight ?? 0),
      fps: String(Math.round(frames.framesPerSecond ?? 0)),
    });
    for (const tile of this.tiles()) {
      if (tile.isLocal) {
        const sent = stats.producers.find((producer) => producer.source === tile.kind);
        tile.setStats(sent ? t('room.stats.sending', size(sent)) : null);
        continue;
      }
      const video = stats.consumers.find((consumer) => consumer.peerId === tile.peerId && consumer.source === tile.kind);
      if (!video) {
        tile.setStats(null);
        continue;
      }
      tile.setStats(
        [
          t('room.stats.layer', { spatial: layer(video.spatialLayer), temporal: layer(video.temporalLayer), preferred: layer(video.preferredSpatialLayer) }),
          t('room.stats.size', size(video)),
          video.pausedByClient ? t('room.stats.paused') : t('room.stats.received', { size: String(Math.round(video.bytesReceived / 1024)) }),
        ].join('\n'),
      );
    }
  }
}
