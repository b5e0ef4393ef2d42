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

/** What a user can do something about, worst first; empty when the link is fine. */
export function explainLink(report: LinkReport, sending: SendLimitation): string[] {
  const problems: string[] = [];
  const loss = Math.max(report.uplink.lossPercent ?? 0, report.downlink.lossPercent ?? 0);
  if (loss >= 2) problems.push(`Packet loss ${loss.toFixed(loss < 10 ? 1 : 0)} %`);
  if (sending === 'bandwidth') problems.push('Your upload is limited: others see you in lower quality');
  else if (sending === 'cpu') problems.push('Your device is busy: your video is sent in lower quality');
  if (report.downlink.limited) {
    const rate = report.downlink.availableKbps === null ? '' : ` (about ${report.downlink.availableKbps} kbit/s)`;
    problems.push(`Your download is limited${rate}: others are shown in lower quality`);
  }
  if (report.rttMs !== null && report.rttMs >= 300) problems.push(`Long delay to the server (${report.rttMs} ms round trip)`);
  return problems;
}
