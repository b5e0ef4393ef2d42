import type { Lane } from './Webhooks.js';

/** A receiver URL, its rooms' lanes, and how many requests are on their way to it. */
export class Receiver {
  readonly lanes = new Map<string, Lane>();
  /** For the log: without credentials or query, which may hold a token. */
  readonly label: string;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly url: string,
    private readonly concurrency: number,
  ) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`webhook URL ${parsed.origin} is not http(s)`);
    this.label = `${parsed.origin}${parsed.pathname}`;
  }

  /** Resolves when this caller may send: fewer than `concurrency` requests are out. */
  async turn(): Promise<void> {
    if (this.inFlight < this.concurrency) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** The caller's request is over: its turn goes to the next one waiting. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }

  /** On close: everyone waiting goes on, to find the queue closed. */
  releaseAll(): void {
    this.inFlight += this.waiting.length;
    for (const next of this.waiting.splice(0)) next();
  }
}
