import { CRASH_LOOP_DEATHS, CRASH_WINDOW_MS, type WorkerDeath } from './WorkerPool.js';

/**
 * Watches worker deaths across the server for one participant's media being on every one of
 * them: a sender whose packets crash the worker (a parser bug, a poison stream) would otherwise
 * follow its room from worker to worker, taking each down. More than CRASH_LOOP_DEATHS deaths
 * within CRASH_WINDOW_MS, all with the same participants' media on board, name those participants.
 * Deaths of workers that carried no media say nothing about anyone and are not counted.
 */
export class CrashWatch {
  private deaths: Pick<WorkerDeath, 'at' | 'peerIds'>[] = [];

  /** Records a death; returns the participants to take out (usually none). */
  record(death: Pick<WorkerDeath, 'at' | 'peerIds'>): string[] {
    if (death.peerIds.size === 0) return [];
    this.deaths = [...this.deaths.filter((earlier) => death.at - earlier.at < CRASH_WINDOW_MS), death];
    if (this.deaths.length <= CRASH_LOOP_DEATHS) return [];
    const [first, ...rest] = this.deaths;
    const common = [...first!.peerIds].filter((peerId) => rest.every((later) => later.peerIds.has(peerId)));
    // Convicted once: the same deaths are not evidence against whoever is left.
    if (common.length > 0) this.deaths = [];
    return common;
  }
}
