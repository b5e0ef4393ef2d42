import { CAMERA_CONSTRAINTS } from '../conference/media.js';
import type { BrowserResult, CameraResult, CheckCode, MicrophoneResult, SpeakersResult } from './types.js';

/** The browser, camera, microphone and speakers checks: what the browser offers, and what the devices deliver. */

/** Frames delivered by a video track over `ms`, or null when the browser cannot count them. */
export type FrameCounter = (track: MediaStreamTrack, ms: number) => Promise<number | null>;

/** Below this frame rate or height the camera check warns: others would see a poor picture. */
const LOW_FRAME_RATE = 10;
const LOW_HEIGHT = 240;
/** A microphone whose loudest moment stays under this RMS level (about −46 dBFS) is silent. */
const SILENT_LEVEL = 0.005;

export function checkBrowser(): BrowserResult {
  const secureContext = window.isSecureContext;
  const webrtc = typeof RTCPeerConnection === 'function';
  const mediaDevices = typeof navigator.mediaDevices?.getUserMedia === 'function';
  const dataChannels = webrtc && typeof RTCPeerConnection.prototype.createDataChannel === 'function';
  const webAudio = typeof AudioContext === 'function';
  const facts = { secureContext, webrtc, mediaDevices, dataChannels, webAudio };
  if (!webrtc || !dataChannels) return { id: 'browser', status: 'fail', code: 'no-webrtc', ...facts };
  if (!secureContext) return { id: 'browser', status: 'fail', code: 'insecure-context', ...facts };
  if (!mediaDevices) return { id: 'browser', status: 'fail', code: 'no-media-devices', ...facts };
  return { id: 'browser', status: 'pass', code: 'ok', ...facts };
}

/** Why getUserMedia refused, as a check code. */
function codeOf(error: unknown): CheckCode {
  const name = error instanceof DOMException || error instanceof Error ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'not-found';
    case 'NotReadableError':
    case 'AbortError':
      return 'busy';
    default:
      return 'error';
  }
}

const detailOf = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** Chromium counts delivered frames on the track itself (MediaStreamTrack.stats). */
const countDelivered: FrameCounter = async (track, ms) => {
  const stats = (track as MediaStreamTrack & { stats?: { deliveredFrames: number } }).stats;
  if (!stats) return null;
  const before = stats.deliveredFrames;
  await sleep(ms);
  return stats.deliveredFrames - before;
};

export interface DeviceProbe<R> {
  result: R;
  /** The track, still running (the view previews or meters it), or null when there is none. */
  track: MediaStreamTrack | null;
}

/** Opens the camera as a call does, and counts the frames it delivers over `measureMs`. */
export async function checkCamera(
  measureMs: number,
  countFrames?: FrameCounter,
  onTrack?: (track: MediaStreamTrack) => void,
): Promise<DeviceProbe<CameraResult>> {
  if (!navigator.mediaDevices) return { result: { id: 'camera', status: 'fail', code: 'insecure-context' }, track: null };
  let track: MediaStreamTrack | undefined;
  try {
    track = (await navigator.mediaDevices.getUserMedia({ video: CAMERA_CONSTRAINTS })).getVideoTracks()[0];
  } catch (error) {
    return { result: { id: 'camera', status: 'fail', code: codeOf(error), detail: detailOf(error) }, track: null };
  }
  if (!track) return { result: { id: 'camera', status: 'fail', code: 'not-found' }, track: null };
  onTrack?.(track);
  const frames = (await countDelivered(track, measureMs)) ?? (countFrames ? await countFrames(track, measureMs) : null);
  const settings = track.getSettings();
  const frameRate = frames === null ? settings.frameRate : Math.round((frames * 10_000) / measureMs) / 10;
  const { width, height } = settings;
  const low = (frameRate !== undefined && frameRate < LOW_FRAME_RATE) || (height !== undefined && height < LOW_HEIGHT);
  const result: CameraResult = { id: 'camera', status: low ? 'warn' : 'pass', code: low ? 'low-quality' : 'ok', label: track.label, width, height, frameRate };
  return { result, track };
}

/**
 * Opens the microphone (without the call's noise suppression, which would hide a quiet one) and
 * listens for `measureMs`; `onLevel` gets the level (0–1) about twenty times a second, also after
 * the measurement, until the returned track stops.
 */
export async function checkMicrophone(measureMs: number, onLevel?: (level: number) => void): Promise<DeviceProbe<MicrophoneResult>> {
  if (!navigator.mediaDevices) return { result: { id: 'microphone', status: 'fail', code: 'insecure-context' }, track: null };
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  } catch (error) {
    return { result: { id: 'microphone', status: 'fail', code: codeOf(error), detail: detailOf(error) }, track: null };
  }
  const track = stream.getAudioTracks()[0];
  if (!track) return { result: { id: 'microphone', status: 'fail', code: 'not-found' }, track: null };
  let peak = 0;
  if (typeof AudioContext === 'function') {
    const context = new AudioContext();
    await context.resume().catch(() => undefined);
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const read = (): number => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      return Math.sqrt(sum / samples.length);
    };
    const timer = setInterval(() => {
      if (track.readyState === 'ended') {
        clearInterval(timer);
        void context.close();
        return;
      }
      const level = read();
      peak = Math.max(peak, level);
      onLevel?.(level);
    }, 50);
    await sleep(measureMs);
  }
  const silent = peak < SILENT_LEVEL;
  const peakLevel = Math.round(peak * 1000) / 1000;
  return { result: { id: 'microphone', status: silent ? 'warn' : 'pass', code: silent ? 'silent' : 'ok', label: track.label, peakLevel }, track };
}

/** The speakers cannot be heard by the page: the check lists the outputs and waits for the person's answer. */
export async function listSpeakers(): Promise<SpeakersResult> {
  const devices = (await navigator.mediaDevices?.enumerateDevices().catch(() => [])) ?? [];
  const outputs = devices.filter((device) => device.kind === 'audiooutput').map((device) => device.label || device.deviceId);
  return { id: 'speakers', status: 'skip', code: 'untested', outputs };
}

/** A short two-note chime, made in the page (no file to load); resolves when it has played. */
export async function playTestSound(): Promise<void> {
  const context = new AudioContext();
  await context.resume();
  const gain = context.createGain();
  gain.connect(context.destination);
  const notes = [
    [523.25, 0],
    [783.99, 0.25],
  ] as const;
  let last: OscillatorNode | undefined;
  for (const [frequency, at] of notes) {
    const oscillator = context.createOscillator();
    oscillator.frequency.value = frequency;
    oscillator.connect(gain);
    const start = context.currentTime + at;
    gain.gain.setValueAtTime(0.3, start);
    gain.gain.exponentialRampToValueAtTime(0.001, start + 0.45);
    oscillator.start(start);
    oscillator.stop(start + 0.45);
    last = oscillator;
  }
  await new Promise<void>((resolve) => last?.addEventListener('ended', () => resolve(), { once: true }));
  await context.close();
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
