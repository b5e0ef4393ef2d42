import type { ConferenceClient } from './conference/ConferenceClient.js';
import type { ConferenceSnapshot, ConferenceStats } from './conference/types.js';
import { dataAutomation, type DataAutomation } from './dataAutomation.js';
import { meetingAutomation, type MeetingAutomation } from './meetingAutomation.js';

/**
 * `window.conclave`: the stable automation contract used by the browser tests and the load-test
 * tool (documented in README; the meeting part in docs/moderation.md). Keep it backwards compatible.
 */
export interface ConclaveAutomation extends DataAutomation, MeetingAutomation {
  state(): ConferenceSnapshot;
  stats(): Promise<ConferenceStats>;
  setMic(on: boolean): Promise<void>;
  setCam(on: boolean): Promise<void>;
  shareScreen(): Promise<void>;
  stopScreen(): Promise<void>;
  leave(): Promise<void>;
  /** Resolves once joined, after any wait in the lobby (or rejects with the join error). */
  ready: Promise<void>;
}

declare global {
  interface Window {
    conclave?: ConclaveAutomation;
  }
}

export function exposeAutomation(client: ConferenceClient, joined: Promise<unknown>): void {
  window.conclave = {
    state: () => client.snapshot(),
    stats: () => client.stats(),
    setMic: (on) => client.setMic(on),
    setCam: (on) => client.setCam(on),
    shareScreen: () => client.shareScreen(),
    stopScreen: () => client.stopScreen(),
    leave: () => client.leave(),
    ready: joined.then(() => undefined),
    ...dataAutomation(client.data),
    ...meetingAutomation(client),
  };
}
