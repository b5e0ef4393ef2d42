import { CONNECTION_QUALITIES, type ConnectionQuality, type LinkReport } from '../../../shared/quality.js';
import type { Emit } from './events.js';
import type { Signaling } from './Signaling.js';

/** Why our own sender sends less than asked, as the browser says (outbound-rtp qualityLimitationReason). */
export type SendLimitation = 'bandwidth' | 'cpu' | 'other' | 'none';

/**
 * Everyone's connection quality as the server sees it, and our own link's details. Levels come
 * from the server (shared/quality.ts), so every participant sees the same level for the same
 * person.
 */
export class LinkQuality {
  private readonly levels = new Map<string, ConnectionQuality>();
  private report: LinkReport | null = null;

  constructor(signaling: Signaling, emit: Emit) {
    signaling.on('connectionQuality', ({ qualities }) => {
      for (const { peerId, quality } of qualities) {
        if (!CONNECTION_QUALITIES.includes(quality)) continue;
        this.levels.set(peerId, quality);
        emit('connectionQuality', peerId, quality);
      }
    });
    signaling.on('linkReport', (report) => {
      this.report = report;
      emit('linkReport', report);
    });
  }

  /** A participant's level (ours too); null until the server measured it. */
  of(peerId: string): ConnectionQuality | null {
    return this.levels.get(peerId) ?? null;
  }

  /** Our own link as last reported; null until the first report. */
  get own(): LinkReport | null {
    return this.report;
  }

  /** Levels by participant id, for snapshots. */
  all(): Record<string, ConnectionQuality> {
    return Object.fromEntries(this.levels);
  }

  forget(peerId: string): void {
    this.levels.delete(peerId);
  }
}

/** Something wrong with our own link that a user can do something about (views word it). */
export type LinkProblem =
  | { kind: 'loss'; percent: number }
  | { kind: 'uploadLimited' }
  | { kind: 'deviceBusy' }
  /** `kbps`: about what the downlink carries, when the server estimated it. */
  | { kind: 'downloadLimited'; kbps: number | null }
  | { kind: 'delay'; rttMs: number };

/** What a user can do something about, worst first; empty when the link is fine. */
export function explainLink(report: LinkReport, sending: SendLimitation): LinkProblem[] {
  const problems: LinkProblem[] = [];
  const loss = Math.max(report.uplink.lossPercent ?? 0, report.downlink.lossPercent ?? 0);
  if (loss >= 2) problems.push({ kind: 'loss', percent: loss });
  if (sending === 'bandwidth') problems.push({ kind: 'uploadLimited' });
  else if (sending === 'cpu') problems.push({ kind: 'deviceBusy' });
  if (report.downlink.limited) problems.push({ kind: 'downloadLimited', kbps: report.downlink.availableKbps });
  if (report.rttMs !== null && report.rttMs >= 300) problems.push({ kind: 'delay', rttMs: report.rttMs });
  return problems;
}
