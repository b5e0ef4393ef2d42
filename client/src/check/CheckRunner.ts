import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import { checkBrowser, checkCamera, checkMicrophone, listSpeakers, playTestSound, type FrameCounter } from './devices.js';
import { checkNetwork } from './network.js';
import { buildReport, type CheckReport } from './report.js';
import { CHECK_IDS, type CheckId, type CheckResult, type CheckResults, type ResultOf } from './types.js';
import { verdictOf } from './verdict.js';

export interface CheckOptions {
  /** Where the server is (the page's own origin). */
  serverUrl: string;
  /** A join token, for servers that want one for the connection test. */
  token?: string;
  /** How long the camera and microphone are measured. */
  measureMs?: number;
  /** Counts a camera's frames where the browser does not (the view's preview). */
  countFrames?: FrameCounter;
}

type CheckEvents = {
  /** A check started, finished or changed (the speakers after the person's answer). */
  result: [result: CheckResult];
  /** The camera is open: the view previews it. */
  camera: [track: MediaStreamTrack];
  /** The microphone's level now, 0–1, about twenty times a second. */
  level: [level: number];
  /** Every check that runs by itself has finished. */
  done: [report: CheckReport];
};

const initial = <K extends CheckId>(id: K): ResultOf<K> => ({ id, status: 'skip', code: 'untested' }) as ResultOf<K>;

/**
 * Runs the whole pre-call check: the browser, then camera, microphone and the network side by side
 * (each reported as it finishes), and keeps the results, the verdict and the report. The speakers
 * wait for the person: `playTestSound()`, then `answerSpeakers(heard)`.
 */
export class CheckRunner extends TypedEmitter<CheckEvents> {
  readonly results = Object.fromEntries(CHECK_IDS.map((id) => [id, initial(id)])) as CheckResults;
  private readonly tracks: MediaStreamTrack[] = [];
  /** Stops the network part: its connection closes and it reports nothing more. */
  private readonly abort = new AbortController();

  constructor(private readonly options: CheckOptions) {
    super();
  }

  async run(): Promise<CheckReport> {
    const measureMs = this.options.measureMs ?? 2000;
    const browser = this.set(checkBrowser());
    for (const id of ['camera', 'microphone', 'signalling'] as const) this.set({ ...initial(id), status: 'running', code: 'ok' });
    const camera = async (): Promise<void> => {
      const { result, track } = await checkCamera(measureMs, this.options.countFrames, (opened) => this.emit('camera', opened));
      this.keep(track);
      this.set(result);
    };
    const microphone = async (): Promise<void> => {
      const { result, track } = await checkMicrophone(measureMs, (level) => this.emit('level', level));
      this.keep(track);
      this.set(result);
    };
    const network = (): Promise<void> => checkNetwork(this.options.serverUrl, this.options.token, (result) => this.set(result), this.abort.signal);
    const devices = browser.mediaDevices && browser.secureContext;
    if (!devices) {
      this.set({ id: 'camera', status: 'fail', code: browser.code === 'ok' ? 'insecure-context' : browser.code });
      this.set({ id: 'microphone', status: 'fail', code: browser.code === 'ok' ? 'insecure-context' : browser.code });
    }
    await Promise.all([devices ? camera() : undefined, devices ? microphone() : undefined, browser.webrtc ? network() : undefined]);
    // Output devices are named only once the page may use a microphone.
    this.set({ ...(await listSpeakers()), ...this.speakersAnswer() });
    const report = await this.report();
    this.emit('done', report);
    return report;
  }

  /** Plays the test sound; the person then says whether they heard it. */
  async playTestSound(): Promise<void> {
    await playTestSound();
    this.set({ ...this.results.speakers, played: true });
  }

  answerSpeakers(heard: boolean): void {
    this.set({ ...this.results.speakers, played: true, status: heard ? 'pass' : 'warn', code: heard ? 'ok' : 'not-heard' });
  }

  /** The results so far, the verdict and the facts about this browser. */
  report(): Promise<CheckReport> {
    return buildReport(this.results, verdictOf(this.results));
  }

  /** Releases the camera and microphone and ends the network part. */
  stop(): void {
    this.abort.abort();
    for (const track of this.tracks.splice(0)) track.stop();
  }

  private speakersAnswer(): Partial<ResultOf<'speakers'>> {
    const { status, code, played } = this.results.speakers;
    return code === 'untested' ? {} : { status, code, played };
  }

  private keep(track: MediaStreamTrack | null): void {
    if (!track) return;
    if (this.abort.signal.aborted) track.stop();
    else this.tracks.push(track);
  }

  private set<R extends CheckResult>(result: R): R {
    (this.results as Record<CheckId, CheckResult>)[result.id] = result;
    this.emit('result', result);
    return result;
  }
}
