import type { CompositorOutput, RecorderRequestOf } from '../../../shared/recording.js';

/** The container types to try, best first: VP8 costs the least CPU to encode. */
export const MIME_TYPES = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm'] as const;

type OutputRequest = 'outputStarted' | 'chunk' | 'outputEnded';

/** Sends one of the output's requests and resolves once the server has acknowledged it. */
export type OutputSink = <K extends OutputRequest>(name: K, payload: RecorderRequestOf<K>) => Promise<unknown>;

export function pickMimeType(isSupported: (type: string) => boolean = (type) => MediaRecorder.isTypeSupported(type)): string | null {
  return MIME_TYPES.find((type) => isSupported(type)) ?? null;
}

/**
 * MediaRecorder over the composed stream, and the ordered hand-over of what it produces: every
 * blob is cut into pieces of at most `maxChunkBytes`, sent as `chunk` one at a time, each after the
 * previous one was acknowledged (the server answers once it has written it). `seq` counts every
 * piece of the page's life. A restart (`start` again) drops what the previous recorder had left.
 */
export class OutputRecorder {
  readonly mimeType: string;
  chunksSent = 0;
  private seq = 0;
  /** Which recorder is current: data of an older one is dropped. */
  private generation = 0;
  private recorder: MediaRecorder | null = null;
  private queue: Promise<void> = Promise.resolve();
  private broken = false;
  private ended = false;

  constructor(
    private readonly stream: MediaStream,
    private readonly output: CompositorOutput,
    private readonly send: OutputSink,
    /** A request failed or the recorder broke: the output cannot go on. */
    private readonly onFatal: (error: Error) => void,
  ) {
    const mimeType = pickMimeType();
    if (!mimeType) throw new Error('This browser cannot record WebM');
    this.mimeType = mimeType;
  }

  /** Tells the server a new output begins (a new header follows), then starts a fresh MediaRecorder. */
  async start(): Promise<void> {
    const generation = ++this.generation;
    if (this.recorder && this.recorder.state !== 'inactive') this.recorder.stop();
    this.recorder = null;
    await this.enqueue(() => this.send('outputStarted', { mimeType: this.mimeType }));
    if (generation !== this.generation || this.broken || this.ended) return;
    const recorder = new MediaRecorder(this.stream, {
      mimeType: this.mimeType,
      videoBitsPerSecond: this.output.videoBitsPerSecond,
      audioBitsPerSecond: this.output.audioBitsPerSecond,
    });
    recorder.addEventListener('dataavailable', ({ data }) => {
      if (data.size > 0) void this.enqueue(() => this.sendBlob(data, generation));
    });
    recorder.addEventListener('error', (event) => {
      const cause = 'error' in event && event.error instanceof DOMException ? `: ${event.error.message}` : '';
      this.fail(new Error(`MediaRecorder stopped${cause}`));
    });
    this.recorder = recorder;
    recorder.start(this.output.timesliceMs);
  }

  /**
   * Stops recording and tells the server the output is complete: after the recorder's last data
   * and every piece before it were acknowledged — or at once, with `error`, dropping what is left.
   */
  async finish(error?: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const recorder = this.recorder;
    this.recorder = null;
    if (error !== undefined) this.generation++;
    if (recorder && recorder.state !== 'inactive') {
      const stopped = new Promise((resolve) => recorder.addEventListener('stop', resolve, { once: true }));
      recorder.stop();
      await stopped;
    }
    await this.queue;
    await this.send('outputEnded', error === undefined ? {} : { error: error.slice(0, 500) });
  }

  private async sendBlob(blob: Blob, generation: number): Promise<void> {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    const max = this.output.maxChunkBytes;
    for (let offset = 0; offset < bytes.byteLength; offset += max) {
      if (generation !== this.generation) return;
      const data = bytes.byteLength <= max ? bytes : bytes.slice(offset, offset + max);
      await this.send('chunk', { seq: this.seq++, data });
      this.chunksSent++;
    }
  }

  /** Runs `task` after everything queued before it; the first failure stops the queue for good. */
  private enqueue(task: () => Promise<unknown>): Promise<void> {
    this.queue = this.queue
      .then(async () => {
        if (!this.broken) await task();
      })
      .catch((error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))));
    return this.queue;
  }

  private fail(error: Error): void {
    if (this.broken) return;
    this.broken = true;
    this.onFatal(error);
  }
}
