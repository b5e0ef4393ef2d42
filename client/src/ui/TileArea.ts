import { localize, msg } from '../i18n/i18n.js';
import { h, icon } from './dom.js';
import type { Tile } from './Tile.js';
import type { VisibilityTracker } from './VisibilityTracker.js';

export type LayoutMode = 'grid' | 'speaker';

export interface LayoutOptions {
  /** At most this many remote cameras show video at once; the others show their avatar (audio plays on). */
  lastN: number;
  /** Tiles per grid page; null fits as many as the window holds. */
  pageSize: number | null;
}

export const DEFAULT_LAST_N = 16;

/** Narrower tiles are too small to recognise anyone: beyond this the grid pages instead. */
const MIN_TILE_WIDTH = 240;
/** The gap and padding of `.stage` in styles.css. */
const GAP = 8;

/** Screens first (they are what people look at), then oneself, then the others as they came. */
function rank(tile: Tile): number {
  if (tile.kind === 'screen') return tile.isLocal ? 1 : 0;
  return tile.isLocal ? 2 : 3;
}

/**
 * Where tiles go: a grid in pages that fit the window, or a speaker view (the active speaker or
 * a screen share large, everyone else in a scrolling strip). Tiles off the current page stay in
 * the document, hidden, so their audio keeps playing while the visibility tracker pauses their
 * video; last-N limits how many shown remote cameras get video at all.
 */
export class TileArea {
  readonly element: HTMLElement;
  /** Previous/next page and the page indicator, for the header. */
  readonly pager: HTMLElement;
  private readonly stage: HTMLElement;
  private readonly strip: HTMLElement;
  private readonly previous: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly indicator: HTMLElement;
  private readonly tiles: Tile[] = [];
  private readonly resizeObserver = new ResizeObserver(() => this.arrange());
  private arrangeFrame: number | null = null;
  private mode: LayoutMode = 'grid';
  private page = 0;
  /** Remote participants by how recently they were the active speaker, most recent first. */
  private speakers: string[] = [];

  constructor(
    private readonly options: LayoutOptions,
    private readonly tracker: VisibilityTracker,
  ) {
    this.stage = h('div', { class: 'stage' });
    this.strip = h('div', { class: 'strip', hidden: true });
    this.element = h('main', { class: 'tiles', 'aria-label': msg('room.tiles'), 'data-layout': this.mode }, this.stage, this.strip);
    this.previous = h(
      'button',
      { class: 'page-button', 'data-action': 'page-prev', title: msg('room.previousPage'), 'aria-label': msg('room.previousPage') },
      icon('previous'),
    );
    this.next = h(
      'button',
      { class: 'page-button', 'data-action': 'page-next', title: msg('room.nextPage'), 'aria-label': msg('room.nextPage') },
      icon('next'),
    );
    this.indicator = h('span', { class: 'page-indicator', 'data-page-indicator': '', 'aria-live': 'polite' });
    this.previous.addEventListener('click', () => this.turnPage(-1));
    this.next.addEventListener('click', () => this.turnPage(1));
    this.pager = h('div', { class: 'pager', hidden: true }, this.previous, this.indicator, this.next);
    this.resizeObserver.observe(this.stage);
  }

  get layout(): LayoutMode {
    return this.mode;
  }

  add(tile: Tile): void {
    this.tiles.push(tile);
    this.stage.append(tile.element);
    if (!tile.isLocal) this.tracker.observe(tile);
    this.arrangeSoon();
  }

  remove(tile: Tile): void {
    const index = this.tiles.indexOf(tile);
    if (index === -1) return;
    this.tiles.splice(index, 1);
    this.tracker.unobserve(tile);
    tile.remove();
    this.arrangeSoon();
  }

  setActiveSpeaker(peerId: string | null): void {
    const speaker = this.tiles.find((tile) => tile.peerId === peerId && !tile.isLocal);
    if (!speaker) return;
    this.speakers = [speaker.peerId, ...this.speakers.filter((id) => id !== speaker.peerId)];
    this.arrangeSoon();
  }

  toggleLayout(): void {
    this.mode = this.mode === 'grid' ? 'speaker' : 'grid';
    this.element.dataset.layout = this.mode;
    this.arrange();
  }

  turnPage(delta: number): void {
    this.page += delta;
    this.arrange();
  }

  clear(): void {
    if (this.arrangeFrame !== null) cancelAnimationFrame(this.arrangeFrame);
    this.arrangeFrame = null;
    this.resizeObserver.disconnect();
    for (const tile of this.tiles.splice(0)) tile.remove();
  }

  /**
   * Arranges before the next frame. Tiles change in bursts (a newcomer hears of everyone and each of
   * their tracks, one message each), and arranging reads the stage's size, which forces a layout:
   * once per burst, not once per message, keeps the page free to make its consumers.
   */
  arrangeSoon(): void {
    this.arrangeFrame ??= requestAnimationFrame(() => {
      this.arrangeFrame = null;
      this.arrange();
    });
  }

  /** Puts every tile where the layout, the page and the window size say. */
  arrange(): void {
    if (this.arrangeFrame !== null) cancelAnimationFrame(this.arrangeFrame);
    this.arrangeFrame = null;
    const ordered = this.tiles
      .map((tile, index) => ({ tile, index }))
      .sort((a, b) => rank(a.tile) - rank(b.tile) || a.index - b.index)
      .map(({ tile }) => tile);
    let shown: Tile[];
    let pages = 1;
    // Read once: a second read after moving tiles would force a second layout.
    const stage = this.stage.getBoundingClientRect();
    if (this.mode === 'grid') {
      const perPage = this.pageSize(ordered.length, stage);
      pages = Math.max(1, Math.ceil(ordered.length / perPage));
      this.page = Math.min(Math.max(this.page, 0), pages - 1);
      shown = ordered.slice(this.page * perPage, (this.page + 1) * perPage);
      placeInOrder(this.stage, ordered);
      this.fit(shown.length, stage);
    } else {
      const focus = this.focus(ordered);
      shown = ordered;
      placeInOrder(this.stage, focus ? [focus] : []);
      placeInOrder(
        this.strip,
        ordered.filter((tile) => tile !== focus),
      );
      this.fit(1, stage);
    }
    for (const tile of ordered) tile.element.hidden = !shown.includes(tile);
    this.strip.hidden = this.mode !== 'speaker';
    this.renderPager(pages);
    this.limitVideo(shown);
  }

  /** Tiles of MIN_TILE_WIDTH (16:9) that fit the stage; before it is laid out, all of them. */
  private pageSize(count: number, { width, height }: DOMRect): number {
    if (this.options.pageSize !== null) return this.options.pageSize;
    if (width === 0 || height === 0) return Math.max(1, count);
    const columns = Math.floor((width - GAP) / (MIN_TILE_WIDTH + GAP));
    const rows = Math.floor((height - GAP) / ((MIN_TILE_WIDTH * 9) / 16 + GAP));
    return Math.max(1, columns * rows);
  }

  /** The column count that makes `count` 16:9 tiles as large as the stage allows. */
  private fit(count: number, { width, height }: DOMRect): void {
    if (width === 0 || height === 0) return;
    const innerWidth = width - 2 * GAP;
    const innerHeight = height - 2 * GAP;
    let best = { columns: 1, size: 0 };
    for (let columns = 1; columns <= Math.max(1, count); columns++) {
      const rows = Math.ceil(count / columns);
      const tileWidth = Math.min((innerWidth - (columns - 1) * GAP) / columns, (((innerHeight - (rows - 1) * GAP) / rows) * 16) / 9);
      if (tileWidth > best.size) best = { columns, size: tileWidth };
    }
    this.stage.style.setProperty('--columns', String(best.columns));
    this.stage.style.setProperty('--tile-width', `${Math.max(0, Math.floor(best.size))}px`);
  }

  /** The large tile of the speaker view: a remote screen share, else who spoke last, else anyone else. */
  private focus(ordered: Tile[]): Tile | undefined {
    const remoteCameras = ordered.filter((tile) => tile.kind === 'camera' && !tile.isLocal);
    const speaking = this.speakers.map((peerId) => remoteCameras.find((tile) => tile.peerId === peerId)).find((tile) => tile !== undefined);
    return ordered.find((tile) => tile.kind === 'screen' && !tile.isLocal) ?? speaking ?? remoteCameras[0] ?? ordered[0];
  }

  /**
   * Of the remote cameras shown that are on, the last N to speak (then the earliest to join) get
   * video. Runs on every arrange, so a camera turned on or off moves the line.
   */
  private limitVideo(shown: Tile[]): void {
    const recency = (tile: Tile): number => {
      const index = this.speakers.indexOf(tile.peerId);
      return index === -1 ? this.speakers.length : index;
    };
    const cameras = shown.filter((tile) => tile.kind === 'camera' && !tile.isLocal && tile.offersVideo);
    const withVideo = new Set(
      cameras
        .map((tile, index) => ({ tile, index }))
        .sort((a, b) => recency(a.tile) - recency(b.tile) || a.index - b.index)
        .slice(0, this.options.lastN)
        .map(({ tile }) => tile),
    );
    for (const tile of this.tiles) {
      const allowed = tile.kind !== 'camera' || tile.isLocal || !cameras.includes(tile) || withVideo.has(tile);
      if (allowed === tile.videoAllowed) continue;
      tile.setVideoAllowed(allowed);
      this.tracker.refresh(tile);
    }
  }

  private renderPager(pages: number): void {
    this.pager.hidden = this.mode !== 'grid' || pages <= 1;
    localize(this.indicator, 'text', msg('room.pageIndicator', { page: this.page + 1, pages }));
    this.indicator.dataset.page = String(this.page + 1);
    this.indicator.dataset.pages = String(pages);
    this.previous.disabled = this.page === 0;
    this.next.disabled = this.page === pages - 1;
  }
}

/** Moves only the elements that are out of place, so playing videos are disturbed as little as possible. */
function placeInOrder(container: HTMLElement, tiles: Tile[]): void {
  tiles.forEach((tile, index) => {
    if (container.children[index] !== tile.element) container.insertBefore(tile.element, container.children[index] ?? null);
  });
}
