import type { RecordingLayout, RecordingStatus } from '../../../shared/recording.js';
import type { Emit } from './events.js';
import type { Signaling } from './Signaling.js';

const NOTHING_RUNS: RecordingStatus = { recording: null, streaming: null };
/**
 * The server answers a start once the compositor (a headless browser) draws and the output is
 * written, and a stop once the file is complete: seconds, more on a busy machine.
 */
const EGRESS_TIMEOUT_MS = 60_000;

/**
 * The room's recording and live stream as the call sees them (shared/recording.ts): what runs
 * now, for everyone, and a typed method for each request, which hosts and moderators may make
 * (the server answers FORBIDDEN to others). The status follows the server's `recordingStatus`
 * notifications only, the requester's own included, so every page shows the same thing.
 */
export class Recording {
  /** What runs now; nothing until the server says otherwise (a newcomer is told right after joining). */
  status: RecordingStatus = NOTHING_RUNS;

  constructor(
    private readonly signaling: Signaling,
    private readonly emit: Emit,
  ) {
    signaling.on('recordingStatus', ({ recording, streaming, change }) => {
      this.status = { recording, streaming };
      emit('recordingStatus', this.status, change ?? null);
    });
    signaling.on('recordingReady', (ready) => emit('recordingReady', ready));
    signaling.on('streamProblem', (problem) => emit('streamProblem', problem));
  }

  /** Resolves with the status once the recording runs; the file's link comes as `recordingReady` once it is stopped. */
  startRecording(layout: RecordingLayout = 'grid'): Promise<RecordingStatus> {
    return this.signaling.request('startRecording', { layout }, { timeoutMs: EGRESS_TIMEOUT_MS });
  }

  /** Resolves once the file is complete. */
  stopRecording(): Promise<RecordingStatus> {
    return this.signaling.request('stopRecording', {}, { timeoutMs: EGRESS_TIMEOUT_MS });
  }

  /** `url`: the service's RTMP(S) ingest URL with its stream key (`StreamUrl`); the server keeps it in memory only. */
  startStream(url: string, layout: RecordingLayout = 'grid'): Promise<RecordingStatus> {
    return this.signaling.request('startStream', { url, layout }, { timeoutMs: EGRESS_TIMEOUT_MS });
  }

  stopStream(): Promise<RecordingStatus> {
    return this.signaling.request('stopStream', {}, { timeoutMs: EGRESS_TIMEOUT_MS });
  }

  /** Our place in the room is gone: what runs is told again on the next join. */
  clear(): void {
    if (this.status.recording === null && this.status.streaming === null) return;
    this.status = NOTHING_RUNS;
    this.emit('recordingStatus', this.status, null);
  }
}
