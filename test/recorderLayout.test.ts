import { describe, expect, it } from 'vitest';
import { contain, coverCrop, layout, TILE_ASPECT, type Arrangement, type Rect } from '../client/src/recorder/layout.js';

const CANVASES = [
  [1280, 720],
  [640, 360],
  [1920, 1080],
  [1080, 1920],
] as const;

const people = (count: number): string[] => Array.from({ length: count }, (_, index) => `p${index + 1}`);
const area = ({ width, height }: Rect): number => width * height;

function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Every rectangle whole-pixel, non-empty, inside the canvas, and apart from every other. */
function expectSound({ screen, tiles }: Arrangement, width: number, height: number): void {
  const rects = [...(screen ? [screen] : []), ...tiles.map(({ rect }) => rect)];
  for (const rect of rects) {
    expect(Object.values(rect).every(Number.isInteger)).toBe(true);
    expect(rect.width).toBeGreaterThan(0);
    expect(rect.height).toBeGreaterThan(0);
    expect(rect.x).toBeGreaterThanOrEqual(0);
    expect(rect.y).toBeGreaterThanOrEqual(0);
    expect(rect.x + rect.width).toBeLessThanOrEqual(width);
    expect(rect.y + rect.height).toBeLessThanOrEqual(height);
  }
  rects.forEach((a, i) => rects.slice(i + 1).forEach((b) => expect(overlaps(a, b), `${JSON.stringify(a)} overlaps ${JSON.stringify(b)}`).toBe(false)));
}

describe('the recording layout', () => {
  for (const kind of ['grid', 'speaker'] as const) {
    for (const [width, height] of CANVASES) {
      it(`${kind} on ${width}x${height}: one tile each for 1 to 9 people (and 25), inside the canvas, none overlapping`, () => {
        for (const count of [1, 2, 3, 4, 5, 6, 7, 8, 9, 25]) {
          for (const screen of [false, true]) {
            const arrangement = layout(kind, width, height, people(count), screen, 'p2');
            expect(arrangement.tiles.map(({ id }) => id).sort()).toEqual(people(count).sort());
            expect(arrangement.screen !== null).toBe(screen);
            expectSound(arrangement, width, height);
          }
        }
      });
    }
  }

  it('grid: equal 16:9 tiles, ceil(sqrt(n)) columns, in join order, centred on the canvas', () => {
    const { tiles } = layout('grid', 1280, 720, people(5), false, null);
    expect(new Set(tiles.map(({ rect }) => rect.width)).size).toBe(1);
    for (const { rect } of tiles) expect(Math.abs(rect.width / rect.height - TILE_ASPECT)).toBeLessThan(0.02);
    // Five people: three columns, two rows, the second row of two centred under the first.
    const [first, second, third, fourth, fifth] = tiles.map(({ rect }) => rect) as [Rect, Rect, Rect, Rect, Rect];
    expect(tiles.map(({ id }) => id)).toEqual(people(5));
    expect(first.y).toBe(second.y);
    expect(second.y).toBe(third.y);
    expect(fourth.y).toBeGreaterThan(first.y);
    expect(first.x).toBeLessThan(second.x);
    expect(fourth.x + fourth.width / 2 + (fifth.x + fifth.width / 2)).toBeCloseTo(1280, -1);
    expect(first.y + (fifth.y + fifth.height)).toBeCloseTo(720, -1);
  });

  it('grid: one person fills most of the canvas', () => {
    const [only] = layout('grid', 1280, 720, ['p1'], false, null).tiles;
    expect(area(only!.rect)).toBeGreaterThan(0.9 * 1280 * 720);
  });

  it('a screen share is the largest area, about three quarters of the width, with everyone beside it', () => {
    for (const kind of ['grid', 'speaker'] as const) {
      for (const count of [1, 4, 9]) {
        const { screen, tiles } = layout(kind, 1280, 720, people(count), true, 'p1');
        expect(screen).not.toBeNull();
        for (const { rect } of tiles) expect(area(screen!)).toBeGreaterThan(3 * area(rect));
        if (kind === 'grid') {
          expect(screen!.width).toBeGreaterThan(0.7 * 1280);
          for (const { rect } of tiles) expect(rect.x).toBeGreaterThanOrEqual(screen!.x + screen!.width);
        } else {
          for (const { rect } of tiles) expect(rect.y).toBeGreaterThanOrEqual(screen!.y + screen!.height);
        }
      }
    }
  });

  it('speaker: the active speaker large, everyone else in a strip along the bottom', () => {
    const { tiles } = layout('speaker', 1280, 720, people(6), false, 'p4');
    const speaker = tiles.find(({ id }) => id === 'p4')!.rect;
    const others = tiles.filter(({ id }) => id !== 'p4').map(({ rect }) => rect);
    expect(others).toHaveLength(5);
    for (const rect of others) {
      expect(area(speaker)).toBeGreaterThan(4 * area(rect));
      expect(rect.y).toBeGreaterThanOrEqual(speaker.y + speaker.height);
    }
  });

  it('speaker: without an active speaker (or one who left) the first to join is large', () => {
    for (const speaker of [null, 'gone']) {
      const { tiles } = layout('speaker', 1280, 720, people(3), false, speaker);
      const largest = tiles.reduce((a, b) => (area(b.rect) > area(a.rect) ? b : a));
      expect(largest.id).toBe('p1');
    }
  });

  it('nobody there: an empty canvas, or just the screen', () => {
    expect(layout('grid', 1280, 720, [], false, null)).toEqual({ screen: null, tiles: [] });
    expect(layout('speaker', 1280, 720, [], true, null).tiles).toEqual([]);
  });

  it('letterboxes a screen inside its area and crops a camera to fill its tile', () => {
    const box = { x: 10, y: 20, width: 960, height: 700 };
    const letterboxed = contain(1920, 1080, box);
    expect(letterboxed.width).toBe(960);
    expect(letterboxed.height).toBe(540);
    expect(letterboxed.y).toBe(20 + 80);
    const crop = coverCrop(640, 480, { x: 0, y: 0, width: 320, height: 180 });
    expect(crop).toEqual({ x: 0, y: 60, width: 640, height: 360 });
  });
});
