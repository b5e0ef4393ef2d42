/** Where the compositor is: connecting → attached (receiving media) → recording → finished, or failed. */
export type RecorderPageState = 'connecting' | 'attached' | 'recording' | 'finished' | 'failed';

/** What `window.conclaveRecorder` shows, for tests and for looking into a running compositor. */
export interface RecorderPageStatus {
  state: RecorderPageState;
  participants: number;
  /** Tiles showing a camera picture in the last frame. */
  videoTiles: number;
  screen: boolean;
  /** `chunk` requests the server acknowledged. */
  chunksSent: number;
  error?: string;
}

declare global {
  interface Window {
    readonly conclaveRecorder?: Readonly<RecorderPageStatus>;
  }
}

export type LiveCounts = () => Omit<RecorderPageStatus, 'state' | 'error'>;

/**
 * The page's state as a read-only `window.conclaveRecorder` (a fresh snapshot on each read) and
 * as `document.body.dataset.state`. Finished and failed are final.
 */
export class StatusBoard {
  private state: RecorderPageState = 'connecting';
  private error: string | undefined;
  private counts: LiveCounts = () => ({ participants: 0, videoTiles: 0, screen: false, chunksSent: 0 });

  constructor() {
    Object.defineProperty(window, 'conclaveRecorder', {
      get: (): Readonly<RecorderPageStatus> =>
        Object.freeze({ state: this.state, ...this.counts(), ...(this.error === undefined ? {} : { error: this.error }) }),
    });
    this.show();
  }

  get current(): RecorderPageState {
    return this.state;
  }

  get over(): boolean {
    return this.state === 'finished' || this.state === 'failed';
  }

  /** Where the counts come from once the parts that know them exist. */
  follow(counts: LiveCounts): void {
    this.counts = counts;
  }

  set(state: Exclude<RecorderPageState, 'failed'>): void {
    if (this.over) return;
    this.state = state;
    this.show();
  }

  fail(message: string): void {
    if (this.over) return;
    this.state = 'failed';
    this.error = message;
    this.show();
  }

  private show(): void {
    document.body.dataset.state = this.state;
  }
}
