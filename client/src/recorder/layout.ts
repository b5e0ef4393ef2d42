import type { RecordingLayout } from '../../../shared/recording.js';

/**
 * Where everything goes on the compositor's canvas: pure geometry, no DOM, so every participant
 * count and canvas shape can be tested. Rectangles are in whole pixels and never overlap.
 */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TilePlacement {
  /** The participant's id. */
  id: string;
  rect: Rect;
}

export interface Arrangement {
  /** The area a screen share is drawn in (letterboxed inside it), or null without one. */
  screen: Rect | null;
  tiles: TilePlacement[];
}

/** Tiles are 16:9 cells whatever the video in them (a camera is cropped to fill its cell). */
export const TILE_ASPECT = 16 / 9;
/** The screen share's (or the speaker's) share of the canvas; the rest is the participants' strip. */
const FEATURE_SHARE = 0.75;
const SPEAKER_STRIP_SHARE = 0.2;

/**
 * The arrangement of `participants` (ids, in join order) on a `width` × `height` canvas.
 * `grid`: everyone in equal tiles, or — when someone shares a screen — the screen large and
 * everyone in a strip beside it. `speaker`: the active speaker (or the first participant) large
 * and the others in a strip along the bottom; a screen share takes the speaker's place.
 */
export function layout(
  kind: RecordingLayout,
  width: number,
  height: number,
  participants: readonly string[],
  screen: boolean,
  activeSpeaker: string | null,
): Arrangement {
  const canvas: Rect = { x: 0, y: 0, width, height };
  const gap = Math.max(4, Math.round(Math.min(width, height) / 90));
  if (screen) {
    const [feature, strip] =
      kind === 'grid' && width >= height
        ? splitBeside(canvas, FEATURE_SHARE, gap)
        : splitAbove(canvas, kind === 'grid' ? FEATURE_SHARE : 1 - SPEAKER_STRIP_SHARE, gap);
    return { screen: snap(inset(feature, gap)), tiles: arrange(strip, participants, gap) };
  }
  if (kind === 'grid' || participants.length < 2) {
    return { screen: null, tiles: arrange(canvas, participants, gap, Math.ceil(Math.sqrt(participants.length))) };
  }
  const featured = activeSpeaker !== null && participants.includes(activeSpeaker) ? activeSpeaker : (participants[0] as string);
  const [main, strip] = splitAbove(canvas, 1 - SPEAKER_STRIP_SHARE, gap);
  const others = participants.filter((id) => id !== featured);
  return { screen: null, tiles: [...arrange(main, [featured], gap, 1), ...arrange(strip, others, gap)] };
}

/** The largest rectangle of the source's shape inside `box`, centred (a screen share, letterboxed). */
export function contain(sourceWidth: number, sourceHeight: number, box: Rect): Rect {
  const scale = Math.min(box.width / sourceWidth, box.height / sourceHeight);
  const width = sourceWidth * scale;
  const height = sourceHeight * scale;
  return { x: box.x + (box.width - width) / 2, y: box.y + (box.height - height) / 2, width, height };
}

/** The centred part of the source with the box's shape: drawn into the box, it fills it (a camera). */
export function coverCrop(sourceWidth: number, sourceHeight: number, box: Rect): Rect {
  const scale = Math.max(box.width / sourceWidth, box.height / sourceHeight);
  const width = box.width / scale;
  const height = box.height / scale;
  return { x: (sourceWidth - width) / 2, y: (sourceHeight - height) / 2, width, height };
}

/**
 * Tiles for `ids` in rows inside `area`, `gap` apart and from its edges, each row centred.
 * Without `columns`, the count that gives the largest tiles.
 */
function arrange(area: Rect, ids: readonly string[], gap: number, columns = bestColumns(area, ids.length, gap)): TilePlacement[] {
  const count = ids.length;
  if (count === 0) return [];
  const rows = Math.ceil(count / columns);
  const size = cellWidth(area, columns, rows, gap);
  const cell = { width: size, height: size / TILE_ASPECT };
  const blockHeight = rows * cell.height + (rows - 1) * gap;
  const top = area.y + (area.height - blockHeight) / 2;
  return ids.map((id, index) => {
    const row = Math.floor(index / columns);
    const inRow = Math.min(columns, count - row * columns);
    const rowWidth = inRow * cell.width + (inRow - 1) * gap;
    const left = area.x + (area.width - rowWidth) / 2;
    const column = index % columns;
    return { id, rect: snap({ x: left + column * (cell.width + gap), y: top + row * (cell.height + gap), ...cell }) };
  });
}

function cellWidth(area: Rect, columns: number, rows: number, gap: number): number {
  const byWidth = (area.width - (columns + 1) * gap) / columns;
  const byHeight = ((area.height - (rows + 1) * gap) / rows) * TILE_ASPECT;
  return Math.max(0, Math.min(byWidth, byHeight));
}

function bestColumns(area: Rect, count: number, gap: number): number {
  let best = 1;
  for (let columns = 2; columns <= count; columns++) {
    if (cellWidth(area, columns, Math.ceil(count / columns), gap) > cellWidth(area, best, Math.ceil(count / best), gap)) best = columns;
  }
  return best;
}

/** Left `share` of the area and the rest, with one gap between their contents. */
function splitBeside(area: Rect, share: number, gap: number): [Rect, Rect] {
  const split = Math.round(area.width * share);
  return [
    { ...area, width: split },
    { ...area, x: area.x + split - gap, width: area.width - split + gap },
  ];
}

/** Top `share` of the area and the rest, with one gap between their contents. */
function splitAbove(area: Rect, share: number, gap: number): [Rect, Rect] {
  const split = Math.round(area.height * share);
  return [
    { ...area, height: split },
    { ...area, y: area.y + split - gap, height: area.height - split + gap },
  ];
}

function inset(rect: Rect, by: number): Rect {
  return { x: rect.x + by, y: rect.y + by, width: Math.max(0, rect.width - 2 * by), height: Math.max(0, rect.height - 2 * by) };
}

/** Whole pixels: rounding both edges (not the size) keeps neighbours from touching. */
function snap(rect: Rect): Rect {
  const x = Math.round(rect.x);
  const y = Math.round(rect.y);
  return { x, y, width: Math.round(rect.x + rect.width) - x, height: Math.round(rect.y + rect.height) - y };
}
