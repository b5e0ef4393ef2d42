import type { RecordingLayout } from '../../../shared/recording.js';
import { contain, coverCrop, layout, type Arrangement, type Rect } from './layout.js';
import type { Scene, SceneTrack } from './Scene.js';

const BACKGROUND = '#111';
const TILE_BACKGROUND = '#1f2126';
const SCREEN_BACKGROUND = '#000';
const ACCENT = '#335fd1';
const SPEAKER_BORDER = 4;
const LABEL_BACKGROUND = 'rgb(0 0 0 / 55%)';
const MUTED_COLOUR = '#ff6b6b';
const FONT = 'system-ui, "DejaVu Sans", "Noto Sans CJK SC", sans-serif';

/** What the last frame showed. */
export interface PaintStats {
  /** Tiles showing a camera picture (not a placeholder). */
  videoTiles: number;
  screen: boolean;
}

/**
 * Draws the scene on the output canvas on a timer (a headless page's animation frames are not to
 * be relied on): the layout's tiles with each camera cropped to fill its tile, or the person's
 * initials without one; the screen share letterboxed; names, muted microphones and a border
 * around whoever speaks.
 */
export class Painter {
  stats: PaintStats = { videoTiles: 0, screen: false };
  private readonly context: CanvasRenderingContext2D;
  private readonly videos = new Map<string, HTMLVideoElement>();
  private readonly labels = new Map<string, string>();
  private arrangement: Arrangement = { screen: null, tiles: [] };
  private names = new Map<string, string>();
  private arrangedVersion = -1;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly scene: Scene,
    private readonly kind: RecordingLayout,
  ) {
    const context = canvas.getContext('2d', { alpha: false });
    if (!context) throw new Error('This browser cannot draw on a canvas');
    this.context = context;
    scene.on('trackAdded', (track) => {
      if (track.source !== 'mic') this.attach(track);
    });
    scene.on('trackRemoved', ({ consumerId }) => this.detach(consumerId));
  }

  /** Draws a first frame now, then `frameRate` times a second. */
  start(frameRate: number): void {
    this.stop();
    this.draw();
    this.timer = setInterval(() => this.draw(), 1000 / frameRate);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  draw(): void {
    const { context, canvas, scene } = this;
    const screen = scene.screen();
    if (this.arrangedVersion !== scene.version) {
      const ids = scene.participants().map(({ id }) => id);
      this.arrangement = layout(this.kind, canvas.width, canvas.height, ids, screen !== null, scene.activeSpeaker);
      this.names = new Map(scene.participants().map((person) => [person.id, person.displayName]));
      this.arrangedVersion = scene.version;
    }
    context.fillStyle = BACKGROUND;
    context.fillRect(0, 0, canvas.width, canvas.height);
    const { screen: screenArea, tiles } = this.arrangement;
    if (screen && screenArea) this.drawScreen(screen, screenArea);
    let videoTiles = 0;
    const { names } = this;
    for (const { id, rect } of tiles) {
      const camera = scene.track(id, 'camera');
      const video = camera && !camera.paused ? this.ready(camera.consumerId) : null;
      if (video) {
        const crop = coverCrop(video.videoWidth, video.videoHeight, rect);
        context.drawImage(video, crop.x, crop.y, crop.width, crop.height, rect.x, rect.y, rect.width, rect.height);
        videoTiles++;
      } else this.drawPlaceholder(names.get(id) ?? '', rect);
      const mic = scene.track(id, 'mic');
      this.drawLabel(names.get(id) ?? '', !mic || mic.paused, rect);
      if (id === scene.activeSpeaker) this.drawBorder(rect);
    }
    this.stats = { videoTiles, screen: screen !== null && screenArea !== null };
  }

  private drawScreen(screen: SceneTrack, area: Rect): void {
    const { context } = this;
    context.fillStyle = SCREEN_BACKGROUND;
    context.fillRect(area.x, area.y, area.width, area.height);
    const video = this.ready(screen.consumerId);
    if (!video) return;
    const box = contain(video.videoWidth, video.videoHeight, area);
    context.drawImage(video, box.x, box.y, box.width, box.height);
  }

  private drawPlaceholder(name: string, rect: Rect): void {
    const { context } = this;
    context.fillStyle = TILE_BACKGROUND;
    context.fillRect(rect.x, rect.y, rect.width, rect.height);
    const diameter = Math.min(rect.height * 0.45, rect.width * 0.3);
    context.fillStyle = `hsl(${hueFor(name)} 40% 38%)`;
    context.beginPath();
    context.arc(rect.x + rect.width / 2, rect.y + rect.height / 2, diameter / 2, 0, 2 * Math.PI);
    context.fill();
    context.fillStyle = '#fff';
    context.font = `600 ${Math.round(diameter * 0.4)}px ${FONT}`;
    context.textAlign = 'center';
    context.textBaseline = 'middle';
    context.fillText(initials(name), rect.x + rect.width / 2, rect.y + rect.height / 2);
  }

  /** The name at the bottom left, white on a dark box, after a struck-through microphone when muted. */
  private drawLabel(name: string, muted: boolean, rect: Rect): void {
    const { context } = this;
    const size = Math.max(11, Math.min(22, Math.round(rect.height * 0.075)));
    const padding = Math.round(size * 0.4);
    const margin = Math.round(size * 0.4);
    const icon = muted ? size + padding : 0;
    context.font = `500 ${size}px ${FONT}`;
    const text = this.fit(name, rect.width - 2 * margin - 2 * padding - icon, size);
    if (!text && !muted) return;
    const width = context.measureText(text).width + 2 * padding + icon;
    const height = size + 2 * padding;
    const x = rect.x + margin;
    const y = rect.y + rect.height - margin - height;
    context.fillStyle = LABEL_BACKGROUND;
    context.fillRect(x, y, width, height);
    if (muted) this.drawMutedMic(x + padding, y + padding, size);
    context.fillStyle = '#fff';
    context.textAlign = 'left';
    context.textBaseline = 'middle';
    context.fillText(text, x + padding + icon, y + height / 2);
  }

  private drawMutedMic(x: number, y: number, size: number): void {
    const { context } = this;
    context.strokeStyle = MUTED_COLOUR;
    context.fillStyle = MUTED_COLOUR;
    context.lineWidth = Math.max(1.5, size / 10);
    context.beginPath();
    context.roundRect(x + size * 0.35, y + size * 0.05, size * 0.3, size * 0.55, size * 0.15);
    context.fill();
    context.beginPath();
    context.arc(x + size / 2, y + size * 0.4, size * 0.3, 0, Math.PI);
    context.moveTo(x + size / 2, y + size * 0.7);
    context.lineTo(x + size / 2, y + size * 0.9);
    context.moveTo(x + size * 0.15, y + size * 0.05);
    context.lineTo(x + size * 0.85, y + size * 0.95);
    context.stroke();
  }

  private drawBorder(rect: Rect): void {
    const { context } = this;
    context.strokeStyle = ACCENT;
    context.lineWidth = SPEAKER_BORDER;
    context.strokeRect(rect.x + SPEAKER_BORDER / 2, rect.y + SPEAKER_BORDER / 2, rect.width - SPEAKER_BORDER, rect.height - SPEAKER_BORDER);
  }

  /** The name, shortened with an ellipsis to `maxWidth` in the current font (remembered: names rarely change). */
  private fit(name: string, maxWidth: number, size: number): string {
    const key = `${size}|${Math.floor(maxWidth)}|${name}`;
    const known = this.labels.get(key);
    if (known !== undefined) return known;
    let characters = Array.from(name);
    let text = name;
    while (characters.length > 0 && this.context.measureText(text).width > maxWidth) {
      characters = characters.slice(0, -1);
      text = `${characters.join('').trimEnd()}…`;
    }
    if (characters.length === 0) text = '';
    if (this.labels.size > 500) this.labels.clear();
    this.labels.set(key, text);
    return text;
  }

  /** The track's video element once it has a picture to draw. */
  private ready(consumerId: string): HTMLVideoElement | null {
    const video = this.videos.get(consumerId);
    return video && video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0 ? video : null;
  }

  private attach({ consumerId, track }: SceneTrack): void {
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([track]);
    void video.play().catch(() => undefined);
    this.videos.set(consumerId, video);
  }

  private detach(consumerId: string): void {
    const video = this.videos.get(consumerId);
    if (!video) return;
    video.srcObject = null;
    this.videos.delete(consumerId);
  }
}

/** Up to two letters: the first of the first and last words. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const first = words[0];
  const last = words.length > 1 ? words[words.length - 1] : undefined;
  return [first, last].map((word) => (word ? (Array.from(word)[0]?.toUpperCase() ?? '') : '')).join('');
}

/** A stable hue per name (the same as the call's avatars). */
function hueFor(text: string): number {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}
