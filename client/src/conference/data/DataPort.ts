import type { types } from 'mediasoup-client';
import type { DataLabel } from '../../../../shared/data.js';
import type { Signaling } from '../Signaling.js';

/** What a data model (chat, files, whiteboard, fast) needs from the data channels it rides on. */
export interface DataPort {
  /** Our open channel of a label; undefined while it is not open (not joined yet, or being reset). */
  producer(label: DataLabel): types.DataProducer | undefined;
  /** Resolves once the channels are open and in sync with the room. */
  whenReady(): Promise<void>;
  /** Our participant id, to tell our own messages from others'. */
  selfId(): string | null;
  readonly signaling: Signaling;
}
