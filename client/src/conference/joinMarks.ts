/**
 * The milestones of joining, as `performance.mark`s named `conclave:join:<milestone>`, so that
 * `npm run bench:join` (and the browser's performance panel) can tell where a newcomer's time goes:
 * page load, socket, welcome, device, join answer, transports, each consumer. Times are the marks'
 * `startTime`, milliseconds since the page's navigation started.
 */
export const JOIN_MARK_PREFIX = 'conclave:join:';

export type JoinMilestone =
  | 'socketConnected'
  | 'welcome'
  | 'deviceLoaded'
  | 'joinSent'
  | 'joinAnswer'
  | 'sendConnected'
  | 'recvConnected'
  /** A consumer exists in the browser (detail: its kind and source). */
  | 'consumerReady'
  /** The server answered its resume. */
  | 'consumerResumed'
  | 'published';

/** What a `consumerReady` / `consumerResumed` mark carries. */
export interface ConsumerMarkDetail {
  kind: 'audio' | 'video';
  source: string;
  peerId: string;
}

/**
 * Marks stay in the page's timeline until it closes: a long call that keeps making consumers (or
 * reconnecting) must not grow it without end, and only the first join is of interest.
 */
const MAX_MARKS = 200;
let marks = 0;

export function markJoin(milestone: JoinMilestone, detail?: ConsumerMarkDetail): void {
  if (marks >= MAX_MARKS || typeof performance === 'undefined' || typeof performance.mark !== 'function') return;
  marks++;
  performance.mark(`${JOIN_MARK_PREFIX}${milestone}`, detail ? { detail } : undefined);
}
