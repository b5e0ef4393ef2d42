import type { SyntheticPlan, SyntheticRecord, SyntheticSample } from './records.js';

/** What the load test's main thread tells a synthetic participants' thread. */
export type ToThread =
  | { type: 'join'; id: number; plan: SyntheticPlan; token?: string }
  /** With `detail`, each participant's per-stream counters too (a larger message: every few seconds, and at the end). */
  | { type: 'sample'; round: number; detail: boolean }
  | { type: 'close' };

/** What a thread reports back: joins as they finish, samples when asked, and when it has closed everything. */
export type FromThread =
  /** `startedAt` as the thread took it: the main thread's would count the time the request queued. */
  | { type: 'joined'; id: number; record: Pick<SyntheticRecord, 'startedAt' | 'joinMs' | 'peerId' | 'error'> }
  | {
      type: 'samples';
      /** The request's round, so a late reply is not taken for the next round's. */
      round: number;
      list: {
        id: number;
        sample: SyntheticSample | null;
        record: Pick<SyntheticRecord, 'joinMs' | 'peerId' | 'error'> & Partial<Pick<SyntheticRecord, 'streams'>>;
      }[];
    }
  | { type: 'closed' };

/** Set once per thread, before any message. */
export interface ThreadData {
  url: string;
  maxVideos: number;
  /** Load the senders' media (some of this thread's participants publish). */
  media: boolean;
}
