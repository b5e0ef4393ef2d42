import {
  BOARD_HEIGHT,
  BOARD_WIDTH,
  type BoardEvent,
  type BoardOp,
  type BoardStroke,
  type BoardTool,
  clientDataText,
  POINTS_PER_MESSAGE,
  STROKE_MAX_POINTS,
  strokeKey,
} from '../../../../shared/data.js';
import { TypedEmitter } from '../../../../shared/TypedEmitter.js';
import type { DataPort } from './DataPort.js';

/** How often a stroke in progress sends its new points. */
const FLUSH_MS = 40;
/** A finished stroke of ours that the server never echoed (refused, or lost in a reset) stops showing after this. */
const DRAFT_TIMEOUT_MS = 3000;

export interface StrokeStyle {
  tool: BoardTool;
  color: string;
  size: number;
}

/** A stroke of ours as drawn, before (and while) the server confirms it. */
export interface Draft extends StrokeStyle {
  id: number;
  points: number[];
}

interface DraftState extends Draft {
  /** Coordinates sent so far. */
  sent: number;
  /** Set when the stroke is finished: it is forgotten if the server never confirms it. */
  expiry?: ReturnType<typeof setTimeout>;
  /** The server's copy has been seen: if it disappears, someone cleared the board. */
  seen?: boolean;
}

export type WhiteboardEvents = {
  /** Points were added to a stroke (at `from`, an index into its points; 0 for a new stroke). */
  points: [stroke: BoardStroke, from: number];
  /** The strokes were replaced (cleared, or loaded after joining): draw everything again. */
  reset: [];
  /** Our unconfirmed strokes changed. */
  drafts: [];
};

/**
 * The shared whiteboard. The model holds only what the server confirmed, in the server's order,
 * so every participant's board is the same; our own strokes are drafts until then, drawn at once
 * and dropped when the confirmed stroke has all their points. Coordinates are the board's own
 * (BOARD_WIDTH × BOARD_HEIGHT), whatever size it is shown at.
 */
export class Whiteboard extends TypedEmitter<WhiteboardEvents> {
  private strokes = new Map<string, BoardStroke>();
  private readonly pending = new Map<number, DraftState>();
  /** The stroke being drawn now, if any. */
  private current: DraftState | null = null;
  private nextId = 1;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** Between interrupted() and resendLost(): nothing of ours is given up as refused. */
  private suspended = false;

  constructor(private readonly port: DataPort) {
    super();
  }

  list(): BoardStroke[] {
    return [...this.strokes.values()];
  }

  get drafts(): readonly Draft[] {
    return [...this.pending.values()];
  }

  /** Starts a stroke at (x, y); false when the whiteboard is not connected. */
  begin(style: StrokeStyle, x: number, y: number): boolean {
    if (!this.port.producer('board')) return false;
    this.end();
    const id = this.nextId++;
    const points = [clampX(x), clampY(y)];
    this.current = { id, ...style, points: [...points], sent: points.length };
    this.pending.set(id, this.current);
    this.send({ t: 'begin', id, ...style, points });
    this.emit('drafts');
    return true;
  }

  extend(x: number, y: number): void {
    const draft = this.current;
    if (!draft) return;
    const [px, py] = [clampX(x), clampY(y)];
    if (draft.points.at(-2) === px && draft.points.at(-1) === py) return;
    // A very long stroke continues as a new one, so no stroke exceeds the server's bound.
    if (draft.points.length / 2 >= STROKE_MAX_POINTS) {
      this.begin({ tool: draft.tool, color: draft.color, size: draft.size }, px, py);
      return;
    }
    draft.points.push(px, py);
    this.emit('drafts');
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  end(): void {
    const draft = this.current;
    if (!draft) return;
    this.flush();
    this.current = null;
    this.expireLater(draft);
    this.settle();
  }

  /** Draws a whole stroke at once (applications, automation): flat [x0, y0, x1, y1, …] in board coordinates. */
  draw(style: StrokeStyle, points: number[]): boolean {
    if (points.length < 2 || !this.begin(style, points[0] ?? 0, points[1] ?? 0)) return false;
    for (let index = 2; index + 1 < points.length; index += 2) this.extend(points[index] ?? 0, points[index + 1] ?? 0);
    this.end();
    return true;
  }

  /** Clears the board for everyone. */
  clear(): boolean {
    return this.send({ t: 'clear' });
  }

  /** An event from the room, in order. */
  apply(event: BoardEvent): void {
    switch (event.t) {
      case 'begin': {
        const stroke: BoardStroke = { by: event.by, id: event.id, tool: event.tool, color: event.color, size: event.size, points: [...event.points] };
        this.strokes.set(strokeKey(event.by, event.id), stroke);
        this.emit('points', stroke, 0);
        break;
      }
      case 'extend': {
        const stroke = this.strokes.get(strokeKey(event.by, event.id));
        if (!stroke) return;
        const from = stroke.points.length;
        stroke.points.push(...event.points);
        this.emit('points', stroke, from);
        break;
      }
      case 'clear':
        this.strokes.clear();
        this.emit('reset');
        break;
    }
    if (event.by === this.port.selfId()) this.settle();
  }

  /** The room's board as of a sync. */
  load(strokes: BoardStroke[]): void {
    this.strokes = new Map(strokes.map((stroke) => [strokeKey(stroke.by, stroke.id), stroke]));
    this.emit('reset');
    this.settle();
  }

  /**
   * Our channel is being replaced (the room's worker died): what we sent lately may be lost with
   * it, so drafts wait for resendLost instead of expiring meanwhile.
   */
  interrupted(): void {
    this.suspended = true;
    for (const draft of this.pending.values()) {
      clearTimeout(draft.expiry);
      draft.expiry = undefined;
    }
  }

  /**
   * On a new channel, with the room's board just loaded: whatever of our strokes the server's copy
   * lacks was lost with the old channel, so it goes again (a stroke whose copy we had seen and is
   * now gone was cleared, and stays so).
   */
  resendLost(): void {
    this.suspended = false;
    const self = this.port.selfId();
    for (const draft of [...this.pending.values()]) {
      if (self === null || !this.resendDraft(self, draft)) break;
    }
    // Points of the stroke being drawn that came during the outage go now, not at the next move.
    if (this.current && this.current.sent < this.current.points.length) this.flush();
    // Finished drafts the server still does not confirm go in a while, as ever.
    for (const draft of this.pending.values()) if (draft !== this.current && draft.expiry === undefined) this.expireLater(draft);
  }

  /** Sends what the server's copy of this draft lacks; false if the channel would not take it. */
  private resendDraft(self: string, draft: DraftState): boolean {
    const confirmed = this.strokes.get(strokeKey(self, draft.id));
    if (!confirmed && draft.seen) {
      this.pending.delete(draft.id);
      if (draft === this.current) {
        // Cleared while still being drawn: the rest of it would be refused; the next touch starts anew.
        this.current = null;
        clearTimeout(this.flushTimer);
        this.flushTimer = undefined;
      }
      this.emit('drafts');
      return true;
    }
    // The stroke being drawn sends its newer points with its next flush.
    const target = draft === this.current ? draft.sent : draft.points.length;
    let have = confirmed?.points.length ?? 0;
    if (have === 0 && target > 0) {
      const points = draft.points.slice(0, Math.min(target, POINTS_PER_MESSAGE * 2));
      if (!this.send({ t: 'begin', id: draft.id, tool: draft.tool, color: draft.color, size: draft.size, points })) return false;
      have = points.length;
    }
    while (have < target) {
      const points = draft.points.slice(have, Math.min(target, have + POINTS_PER_MESSAGE * 2));
      if (!this.send({ t: 'extend', id: draft.id, points })) return false;
      have += points.length;
    }
    if (draft !== this.current) draft.sent = draft.points.length;
    return true;
  }

  /** We joined the room afresh: nothing of the old board holds. */
  reset(): void {
    this.suspended = false;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const draft of this.pending.values()) clearTimeout(draft.expiry);
    this.pending.clear();
    this.current = null;
    this.load([]);
    this.emit('drafts');
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const draft = this.current;
    if (!draft) return;
    while (draft.sent < draft.points.length) {
      const points = draft.points.slice(draft.sent, draft.sent + POINTS_PER_MESSAGE * 2);
      if (!this.send({ t: 'extend', id: draft.id, points })) return;
      draft.sent += points.length;
    }
  }

  /** A finished draft that the server never confirms stops showing after a while (it was refused). */
  private expireLater(draft: DraftState): void {
    clearTimeout(draft.expiry);
    if (this.suspended) return;
    draft.expiry = setTimeout(() => {
      this.pending.delete(draft.id);
      this.emit('drafts');
    }, DRAFT_TIMEOUT_MS);
  }

  /** A finished draft goes once the server's copy of its stroke has every point. */
  private settle(): void {
    const self = this.port.selfId() ?? '';
    let changed = false;
    for (const draft of this.pending.values()) {
      const confirmed = this.strokes.get(strokeKey(self, draft.id));
      if (confirmed) draft.seen = true;
      if (draft === this.current) continue;
      if (confirmed && confirmed.points.length >= draft.points.length) {
        clearTimeout(draft.expiry);
        this.pending.delete(draft.id);
        changed = true;
      }
    }
    if (changed) this.emit('drafts');
  }

  private send(op: BoardOp): boolean {
    const producer = this.port.producer('board');
    if (!producer) return false;
    try {
      producer.send(clientDataText('board', op));
    } catch {
      // Closed under us (a reset under way): as if not connected; the resend after it covers this.
      return false;
    }
    return true;
  }
}

const clampX = (x: number): number => Math.min(BOARD_WIDTH, Math.max(0, Math.round(x)));
const clampY = (y: number): number => Math.min(BOARD_HEIGHT, Math.max(0, Math.round(y)));
