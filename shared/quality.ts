/**
 * Connection quality as the server sees each participant's link (like LiveKit's
 * `connectionQuality`): everyone learns each participant's level, and each participant its own
 * link's details, so its client can say what is wrong.
 */
export const CONNECTION_QUALITIES = ['good', 'fair', 'poor'] as const;
export type ConnectionQuality = (typeof CONNECTION_QUALITIES)[number];

/** One direction of a participant's link, as the server measured it over the last few seconds. */
export interface LinkDirection {
  /** Packets lost on the way, in percent; null while nothing was measured. */
  lossPercent: number | null;
}

/** A participant's own link: sent to it when it changes. */
export interface LinkReport {
  quality: ConnectionQuality;
  /**
   * From the participant to the server: what it publishes. Whether its sender holds layers back
   * for lack of bandwidth only its browser knows (a user's Data saver looks the same from here).
   */
  uplink: LinkDirection;
  /**
   * From the server to the participant: what it receives; `availableKbps` is the server's bandwidth
   * estimate, `limited` that the server forwards some camera in a smaller layer than its tile asks for.
   */
  downlink: LinkDirection & { availableKbps: number | null; limited: boolean };
  /** Round trip between the server and the participant; null while unknown. */
  rttMs: number | null;
}

/** Below these a link is good; at or above the second, poor. */
export const LOSS_PERCENT_LIMITS = { fair: 2, poor: 8 } as const;
export const RTT_MS_LIMITS = { fair: 300, poor: 600 } as const;

/** The level a link report adds up to: the worst of loss, round trip and being limited. */
export function rateLink(report: Omit<LinkReport, 'quality'>): ConnectionQuality {
  const loss = Math.max(report.uplink.lossPercent ?? 0, report.downlink.lossPercent ?? 0);
  const rtt = report.rttMs ?? 0;
  if (loss >= LOSS_PERCENT_LIMITS.poor || rtt >= RTT_MS_LIMITS.poor) return 'poor';
  if (loss >= LOSS_PERCENT_LIMITS.fair || rtt >= RTT_MS_LIMITS.fair || report.downlink.limited) return 'fair';
  return 'good';
}
