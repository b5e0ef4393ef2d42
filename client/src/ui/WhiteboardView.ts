import { BOARD_HEIGHT, BOARD_WIDTH, type BoardStroke, type FastMessage } from '../../../shared/data.js';
import type { DataChannels } from '../conference/data/DataChannels.js';
import type { StrokeStyle } from '../conference/data/Whiteboard.js';
import { computed, label, msg, t, type Msg } from '../i18n/i18n.js';
import { h, hueFor, icon } from './dom.js';

/** The pen's colours, each with its name (read out instead of the hex code). */
const COLOR_NAMES = {
  '#111111': 'collaboration.board.colour.black',
  '#e5484d': 'collaboration.board.colour.red',
  '#f5a524': 'collaboration.board.colour.orange',
  '#30a46c': 'collaboration.board.colour.green',
  '#1f6feb': 'collaboration.board.colour.blue',
  '#8e4ec6': 'collaboration.board.colour.purple',
} as const;
type Color = keyof typeof COLOR_NAMES;
const COLORS = Object.keys(COLOR_NAMES) as Color[];
const DEFAULT_COLOR: Color = '#1f6feb';
const PEN_SIZE = 4;
const ERASER_SIZE = 28;
/** The board's paper; the eraser takes strokes away down to it. */
const PAPER = '#ffffff';
/** Live cursors: how often ours is sent, and how long another's stays without news. */
const CURSOR_INTERVAL_MS = 50;
const CURSOR_TTL_MS = 3000;
const CURSOR_TOPIC = 'cursor';

type Paintable = Pick<BoardStroke, 'tool' | 'color' | 'size' | 'points'>;

/**
 * The shared whiteboard: pen, colours, eraser, clear, and everyone's cursor while it is over the
 * board (sent on the fast, unreliable channel). Confirmed strokes are painted on one canvas, our
 * own not-yet-confirmed strokes on a second one above it, so what stays on the board is exactly
 * what the server has. Automation hooks: `[data-whiteboard]`, `canvas[data-whiteboard-canvas]`,
 * `[data-board-tool]`, `[data-board-color]`, `[data-action="board-clear"]`, `[data-cursor-peer]`.
 */
export class WhiteboardView {
  readonly element: HTMLElement;
  private readonly surface: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly ink: HTMLCanvasElement;
  private readonly toolButtons: HTMLButtonElement[];
  private readonly colorButtons: HTMLButtonElement[];
  private readonly cursors = new Map<string, { element: HTMLElement; timer: ReturnType<typeof setTimeout> }>();
  private style: StrokeStyle = { tool: 'pen', color: DEFAULT_COLOR, size: PEN_SIZE };
  private drawing = false;
  /** The canvas missed changes while hidden: repaint on show. */
  private stale = true;
  private lastCursorAt = 0;
  private readonly resizeObserver = new ResizeObserver(() => this.resize());

  constructor(
    private readonly data: DataChannels,
    onClose: () => void,
  ) {
    this.canvas = h('canvas', { class: 'board-canvas', 'data-whiteboard-canvas': '' });
    this.ink = h('canvas', { class: 'board-ink', 'aria-label': msg('collaboration.board.canvas') });
    this.surface = h('div', { class: 'board-surface' }, this.canvas, this.ink);
    this.toolButtons = [this.toolButton('pen', msg('collaboration.board.pen')), this.toolButton('eraser', msg('collaboration.board.eraser'))];
    this.colorButtons = COLORS.map((color) => {
      const name = msg(COLOR_NAMES[color]);
      const button = h('button', {
        type: 'button',
        class: 'board-color',
        title: name,
        'aria-label': computed(() => t('collaboration.board.colour', { name: name.render() })),
        'data-board-color': color,
      });
      button.style.setProperty('--swatch', color);
      button.addEventListener('click', () => this.setStyle({ tool: 'pen', color, size: PEN_SIZE }));
      return button;
    });
    const clear = h(
      'button',
      {
        type: 'button',
        class: 'board-button',
        title: msg('collaboration.board.clearForEveryone'),
        'aria-label': msg('collaboration.board.clear'),
        'data-action': 'board-clear',
      },
      icon('trash'),
    );
    clear.addEventListener('click', () => data.board.clear());
    const close = h('button', { type: 'button', class: 'panel-close' }, icon('close'));
    label(close, msg('collaboration.board.close'));
    close.addEventListener('click', onClose);
    this.element = h(
      'section',
      { class: 'whiteboard', 'aria-label': msg('collaboration.whiteboard'), 'data-whiteboard': '', hidden: true },
      h(
        'header',
        { class: 'board-tools' },
        ...this.toolButtons,
        h('span', { class: 'board-colors' }, ...this.colorButtons),
        clear,
        h('span', { class: 'spacer' }),
        close,
      ),
      h('div', { class: 'board-area' }, this.surface),
    );
    this.bindPointer();
    this.bindModel();
    this.setStyle(this.style);
    this.resizeObserver.observe(this.surface);
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  setOpen(open: boolean): void {
    this.element.hidden = !open;
    if (open) this.resize();
  }

  destroy(): void {
    this.resizeObserver.disconnect();
    for (const { timer } of this.cursors.values()) clearTimeout(timer);
  }

  private toolButton(tool: StrokeStyle['tool'], name: Msg): HTMLButtonElement {
    const button = h('button', { type: 'button', class: 'board-button', 'data-board-tool': tool }, icon(tool));
    label(button, name);
    button.addEventListener('click', () =>
      this.setStyle(tool === 'eraser' ? { tool, color: PAPER, size: ERASER_SIZE } : { tool, color: this.lastPenColor(), size: PEN_SIZE }),
    );
    return button;
  }

  private lastPenColor(): string {
    return this.colorButtons.find((button) => button.getAttribute('aria-pressed') === 'true')?.dataset.boardColor ?? DEFAULT_COLOR;
  }

  private setStyle(style: StrokeStyle): void {
    this.style = style;
    for (const button of this.toolButtons) button.setAttribute('aria-pressed', String(button.dataset.boardTool === style.tool));
    if (style.tool === 'pen') {
      for (const button of this.colorButtons) button.setAttribute('aria-pressed', String(button.dataset.boardColor === style.color));
    }
    this.surface.dataset.tool = style.tool;
  }

  private bindModel(): void {
    const { board, fast } = this.data;
    board.on('points', (stroke, from) => {
      if (!this.isOpen) this.stale = true;
      else if (this.stale) this.repaint();
      else paint(this.context(this.canvas), stroke, from);
    });
    board.on('reset', () => {
      this.stale = true;
      if (this.isOpen) this.repaint();
    });
    board.on('drafts', () => {
      if (this.isOpen) this.repaintInk();
    });
    fast.on('message', (message) => {
      if (message.topic === CURSOR_TOPIC) this.showCursor(message);
    });
  }

  private bindPointer(): void {
    const { ink } = this;
    ink.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      ink.setPointerCapture(event.pointerId);
      const [x, y] = this.toBoard(event);
      this.drawing = this.data.board.begin(this.style, x, y);
    });
    ink.addEventListener('pointermove', (event) => {
      if (this.drawing) {
        for (const point of event.getCoalescedEvents?.() ?? [event]) this.data.board.extend(...this.toBoard(point));
      }
      this.sendCursor(event);
    });
    const finish = (): void => {
      if (!this.drawing) return;
      this.drawing = false;
      this.data.board.end();
    };
    ink.addEventListener('pointerup', finish);
    ink.addEventListener('pointercancel', finish);
    ink.addEventListener('pointerleave', () => {
      if (!this.drawing) this.data.fast.send(CURSOR_TOPIC, null);
    });
  }

  /** Pointer position in board coordinates. */
  private toBoard(event: PointerEvent): [number, number] {
    const rect = this.ink.getBoundingClientRect();
    return [((event.clientX - rect.left) / rect.width) * BOARD_WIDTH, ((event.clientY - rect.top) / rect.height) * BOARD_HEIGHT];
  }

  private sendCursor(event: PointerEvent): void {
    const now = performance.now();
    if (now - this.lastCursorAt < CURSOR_INTERVAL_MS) return;
    this.lastCursorAt = now;
    const [x, y] = this.toBoard(event);
    this.data.fast.send(CURSOR_TOPIC, { x: Math.round(x), y: Math.round(y) });
  }

  private showCursor(message: FastMessage): void {
    const position = message.data;
    const known = this.cursors.get(message.from);
    if (known) clearTimeout(known.timer);
    const valid =
      typeof position === 'object' && position !== null && !Array.isArray(position) && typeof position.x === 'number' && typeof position.y === 'number';
    if (!valid) {
      known?.element.remove();
      this.cursors.delete(message.from);
      return;
    }
    const element = known?.element ?? this.cursorElement(message);
    element.style.left = `${(Number(position.x) / BOARD_WIDTH) * 100}%`;
    element.style.top = `${(Number(position.y) / BOARD_HEIGHT) * 100}%`;
    const timer = setTimeout(() => {
      element.remove();
      this.cursors.delete(message.from);
    }, CURSOR_TTL_MS);
    this.cursors.set(message.from, { element, timer });
  }

  private cursorElement(message: FastMessage): HTMLElement {
    const element = h('div', { class: 'board-cursor', 'data-cursor-peer': message.from }, h('span', { class: 'board-cursor-name' }, message.name));
    element.style.setProperty('--hue', String(hueFor(message.name)));
    this.surface.append(element);
    return element;
  }

  /** Sizes both canvases to the surface in device pixels, then repaints. */
  private resize(): void {
    if (!this.isOpen) return;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(this.surface.clientWidth * ratio);
    const height = Math.round(this.surface.clientHeight * ratio);
    if (width === 0 || height === 0) return;
    for (const canvas of [this.canvas, this.ink]) {
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
        this.stale = true;
      }
    }
    if (this.stale) this.repaint();
    this.repaintInk();
  }

  private repaint(): void {
    const context = this.context(this.canvas);
    context.clearRect(0, 0, BOARD_WIDTH, BOARD_HEIGHT);
    for (const stroke of this.data.board.list()) paint(context, stroke, 0);
    this.stale = false;
  }

  private repaintInk(): void {
    const context = this.context(this.ink);
    context.clearRect(0, 0, BOARD_WIDTH, BOARD_HEIGHT);
    // Our eraser cannot reach the confirmed canvas below, so until confirmed it is drawn as paper.
    for (const draft of this.data.board.drafts) paint(context, draft.tool === 'eraser' ? { ...draft, tool: 'pen', color: PAPER } : draft, 0);
  }

  /** A 2D context that draws in board coordinates. */
  private context(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
    const context = canvas.getContext('2d');
    if (!context) throw new Error('No 2D canvas');
    context.setTransform(canvas.width / BOARD_WIDTH, 0, 0, canvas.height / BOARD_HEIGHT, 0, 0);
    return context;
  }
}

/** Paints a stroke from point index `from` (its segment from the previous point included). */
function paint(context: CanvasRenderingContext2D, stroke: Paintable, from: number): void {
  const { points } = stroke;
  const start = Math.max(0, from - 2);
  if (points.length - start < 2) return;
  context.save();
  context.globalCompositeOperation = stroke.tool === 'eraser' ? 'destination-out' : 'source-over';
  context.strokeStyle = context.fillStyle = stroke.tool === 'eraser' ? '#000000' : stroke.color;
  context.lineWidth = stroke.size;
  context.lineCap = 'round';
  context.lineJoin = 'round';
  context.beginPath();
  if (points.length - start === 2) {
    context.arc(points[start] ?? 0, points[start + 1] ?? 0, stroke.size / 2, 0, 2 * Math.PI);
    context.fill();
  } else {
    context.moveTo(points[start] ?? 0, points[start + 1] ?? 0);
    for (let index = start + 2; index + 1 < points.length; index += 2) context.lineTo(points[index] ?? 0, points[index + 1] ?? 0);
    context.stroke();
  }
  context.restore();
}
