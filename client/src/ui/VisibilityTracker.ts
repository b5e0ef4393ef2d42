import type { VideoDemand } from '../conference/reception.js';
import type { Tile } from './Tile.js';

interface Observed {
  tile: Tile;
  intersecting: boolean;
  /** CSS pixels. */
  height: number;
}

/**
 * Watches how each remote tile is shown — on screen or not (scrolled away, on another page, in a
 * hidden tab), whether the layout gives it video, and how tall it is drawn — and reports it as
 * the tile's video demand. The client library turns that into what the server sends.
 */
export class VisibilityTracker {
  private readonly observed = new Map<Element, Observed>();
  private readonly intersection = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const state = this.observed.get(entry.target);
      if (!state) continue;
      state.intersecting = entry.isIntersecting;
      state.height = entry.boundingClientRect.height;
      this.report(state);
    }
  });
  private readonly resize = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const state = this.observed.get(entry.target);
      if (!state) continue;
      state.height = entry.borderBoxSize[0]?.blockSize ?? entry.contentRect.height;
      this.report(state);
    }
  });
  private readonly onVisibilityChange = (): void => {
    for (const state of this.observed.values()) this.report(state);
  };

  constructor(private readonly onDemand: (tile: Tile, demand: VideoDemand | null) => void) {
    document.addEventListener('visibilitychange', this.onVisibilityChange);
  }

  /** Starts watching a remote tile; the observers report its first state right away. */
  observe(tile: Tile): void {
    if (this.observed.has(tile.element)) return;
    this.observed.set(tile.element, { tile, intersecting: false, height: 0 });
    this.intersection.observe(tile.element);
    this.resize.observe(tile.element);
  }

  unobserve(tile: Tile): void {
    if (!this.observed.delete(tile.element)) return;
    this.intersection.unobserve(tile.element);
    this.resize.unobserve(tile.element);
    this.onDemand(tile, null);
  }

  /** The layout changed whether this tile gets video. */
  refresh(tile: Tile): void {
    const state = this.observed.get(tile.element);
    if (state) this.report(state);
  }

  disconnect(): void {
    document.removeEventListener('visibilitychange', this.onVisibilityChange);
    this.intersection.disconnect();
    this.resize.disconnect();
    this.observed.clear();
  }

  private report({ tile, intersecting, height }: Observed): void {
    const visible = intersecting && height > 0 && tile.videoAllowed && document.visibilityState === 'visible';
    this.onDemand(tile, { visible, height: Math.round(height * window.devicePixelRatio) });
  }
}
