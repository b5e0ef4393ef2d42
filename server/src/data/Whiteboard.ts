import { ConclaveError } from '../../../shared/errors.js';
import { BOARD_MAX_POINTS, BOARD_MAX_STROKES, STROKE_MAX_POINTS, strokeKey, type BoardOp, type BoardStroke } from '../../../shared/data.js';

/**
 * The room's whiteboard as the server keeps it: the strokes drawn since the last clear, in the
 * order the server received them. A late joiner gets this model; everyone else follows the
 * operations live. Bounded, so a room cannot grow it without limit: when full, new strokes are
 * refused until someone clears the board.
 */
export class Whiteboard {
  private readonly strokes = new Map<string, BoardStroke>();
  /** Coordinates stored, both x and y counted. */
  private values = 0;

  /** Applies a validated operation from `peerId`; throws ConclaveError when it is refused. */
  apply(peerId: string, op: BoardOp): void {
    switch (op.t) {
      case 'begin': {
        const key = strokeKey(peerId, op.id);
        if (this.strokes.has(key)) throw new ConclaveError('BAD_REQUEST', `Stroke ${op.id} already exists`);
        if (this.strokes.size >= BOARD_MAX_STROKES) throw full();
        this.reserve(op.points.length);
        this.strokes.set(key, { by: peerId, id: op.id, tool: op.tool, color: op.color, size: op.size, points: [...op.points] });
        return;
      }
      case 'extend': {
        // Keys carry the author, so nobody can add to another participant's stroke.
        const stroke = this.strokes.get(strokeKey(peerId, op.id));
        if (!stroke) throw new ConclaveError('NOT_FOUND', `No stroke ${op.id} of yours`);
        if ((stroke.points.length + op.points.length) / 2 > STROKE_MAX_POINTS) {
          throw new ConclaveError('TOO_LARGE', `A stroke has at most ${STROKE_MAX_POINTS} points`);
        }
        this.reserve(op.points.length);
        stroke.points.push(...op.points);
        return;
      }
      case 'clear':
        this.strokes.clear();
        this.values = 0;
        return;
    }
  }

  snapshot(): BoardStroke[] {
    return [...this.strokes.values()].map((stroke) => ({ ...stroke, points: [...stroke.points] }));
  }

  private reserve(values: number): void {
    if (this.values + values > BOARD_MAX_POINTS * 2) throw full();
    this.values += values;
  }
}

function full(): ConclaveError {
  return new ConclaveError('TOO_LARGE', 'The whiteboard is full; clear it to draw more');
}
