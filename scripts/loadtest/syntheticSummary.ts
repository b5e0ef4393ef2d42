import { distribution, type Distribution } from './distribution.js';
import { summarizeSynthetic, type SyntheticSummary } from './synthetic/stats.js';
import type { SyntheticRecord } from './types.js';

/** The synthetic participants over the steady window: each one, and the figures across them. */
export interface SyntheticRunSummary {
  total: number;
  /** Joined and without an error at the end (as the progress line counts them). */
  joined: number;
  failed: number;
  /** Joined senders. */
  sending: number;
  /** Over participants: each one's loss % (audio and video together) and received kbit/s. */
  loss: Distribution;
  receivedKbps: Distribution;
  /** The highest interarrival jitter any of them saw, ms. */
  jitterMsMax: number | null;
  layerSwitches: number;
  perParticipant: SyntheticSummary[];
}

const present = (values: (number | null)[]): number[] => values.filter((value): value is number => value !== null);

export function summarizeSyntheticRun(records: SyntheticRecord[], window: { from: number; to: number }): SyntheticRunSummary {
  const perParticipant = records.map((record) => summarizeSynthetic(record, window));
  const joined = perParticipant.filter((participant) => participant.joinMs !== null && participant.error === null);
  const jitters = present(perParticipant.map((participant) => participant.jitterMsMax));
  return {
    total: perParticipant.length,
    joined: joined.length,
    failed: perParticipant.filter((participant) => participant.error !== null).length,
    sending: joined.filter((participant) => participant.sender).length,
    loss: distribution(present(perParticipant.map((participant) => participant.lossPct))),
    receivedKbps: distribution(present(perParticipant.map((participant) => participant.receivedKbps))),
    jitterMsMax: jitters.length ? Math.max(...jitters) : null,
    layerSwitches: perParticipant.reduce((sum, participant) => sum + participant.layerSwitches, 0),
    perParticipant,
  };
}
