import type { ConclaveAutomation } from '../../client/src/automation.js';

/** What the in-page probe records. Times are performance.now(): ms since the page's navigation start. */
export interface ProbeRecord {
  joinedAt: number | null;
  joinError: string | null;
  peerId: string | null;
  /** Remote participants in the room when the join completed. */
  presentAtJoin: string[];
  /** First presented frame of each remote participant's camera video. */
  firstFrames: Record<string, number>;
}

declare global {
  interface Window {
    __loadtestProbe?: ProbeRecord;
  }
}

/**
 * Runs in the page before the app (an init script, so it must not close over anything). It notes the
 * moment `window.conclave.ready` resolves and, through requestVideoFrameCallback on every remote camera
 * tile's <video>, the moment each remote camera's first frame is shown — exact times, independent of
 * how often the bot samples.
 */
export function installProbe(): void {
  const probe: ProbeRecord = { joinedAt: null, joinError: null, peerId: null, presentAtJoin: [], firstFrames: {} };
  window.__loadtestProbe = probe;

  let automation: ConclaveAutomation | undefined;
  Object.defineProperty(window, 'conclave', {
    configurable: true,
    enumerable: true,
    get: () => automation,
    set: (value: ConclaveAutomation) => {
      automation = value;
      value.ready.then(
        () => {
          probe.joinedAt = performance.now();
          const state = value.state();
          probe.peerId = state.self?.id ?? null;
          probe.presentAtJoin = state.participants.map((participant) => participant.id);
        },
        (error: unknown) => {
          probe.joinError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        },
      );
    },
  });

  const watched = new WeakSet<HTMLVideoElement>();
  const watchTiles = (): void => {
    for (const tile of document.querySelectorAll<HTMLElement>('[data-kind="camera"][data-peer-id]:not([data-local])')) {
      const video = tile.querySelector('video');
      const peerId = tile.dataset.peerId;
      if (!video || !peerId || watched.has(video)) continue;
      watched.add(video);
      video.requestVideoFrameCallback(() => {
        probe.firstFrames[peerId] ??= performance.now();
      });
    }
  };
  new MutationObserver(watchTiles).observe(document, { childList: true, subtree: true });
}
