import type { CheckPath } from '../../../shared/check.js';
import type { ErrorCode } from '../../../shared/errors.js';

/**
 * The pre-call check's results: one per check, each with a status, what was measured and a code
 * that says why (the verdict and the view translate codes; nothing here is display text).
 */

/** `skip`: not run (not applicable, or an earlier check made it impossible). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip' | 'running';

export const CHECK_IDS = ['browser', 'camera', 'microphone', 'speakers', 'signalling', 'udp', 'tcp', 'relay', 'bandwidth'] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** Why a check ended as it did; the verdict's findings use the same codes. */
export type CheckCode =
  | 'ok'
  | 'insecure-context'
  | 'no-webrtc'
  | 'no-media-devices'
  | 'denied'
  | 'not-found'
  | 'busy'
  | 'error'
  | 'low-quality'
  | 'silent'
  | 'not-heard'
  | 'untested'
  | 'unreachable'
  | 'token-needed'
  | 'token-invalid'
  | 'not-configured'
  | 'timeout'
  | 'failed'
  | 'refused'
  /** The server turned the test down (busy, restarting, its own failure): says nothing about the network. */
  | 'server-refused'
  | 'slow'
  | 'no-path';

export interface BaseResult {
  id: CheckId;
  status: CheckStatus;
  code: CheckCode;
  /** The browser's or server's own words when something failed (for the administrator's report only, untranslated). */
  detail?: string;
  /** With `server-refused`: the server's error code. */
  serverCode?: ErrorCode;
}

export interface BrowserResult extends BaseResult {
  id: 'browser';
  secureContext: boolean;
  webrtc: boolean;
  mediaDevices: boolean;
  dataChannels: boolean;
  webAudio: boolean;
}

export interface CameraResult extends BaseResult {
  id: 'camera';
  label?: string;
  width?: number;
  height?: number;
  /** Frames the camera actually delivered per second, counted over the measurement. */
  frameRate?: number;
}

export interface MicrophoneResult extends BaseResult {
  id: 'microphone';
  label?: string;
  /** Loudest level heard during the measurement, 0–1 (RMS of the signal). */
  peakLevel?: number;
}

export interface SpeakersResult extends BaseResult {
  id: 'speakers';
  outputs?: string[];
  /** The test sound was played. */
  played?: boolean;
}

export interface SignallingResult extends BaseResult {
  id: 'signalling';
  rttMs?: number;
  serverVersion?: string;
  turnConfigured?: boolean;
  tokenRequired?: boolean;
}

/** The ICE candidate pair the browser selected. */
export interface SelectedPair {
  localType: string;
  localProtocol: string;
  remoteType: string;
  remoteProtocol: string;
  /** For a relay candidate: how the browser reaches the TURN server. */
  relayProtocol?: string;
}

export interface PathResult extends BaseResult {
  id: CheckPath;
  rttMs?: number;
  pair?: SelectedPair;
  connectMs?: number;
}

export interface BandwidthResult extends BaseResult {
  id: 'bandwidth';
  /** Which path carried the test. */
  path?: CheckPath;
  uploadBps?: number;
  downloadBps?: number;
}

export type CheckResult = BrowserResult | CameraResult | MicrophoneResult | SpeakersResult | SignallingResult | PathResult | BandwidthResult;
export type ResultOf<K extends CheckId> = K extends CheckPath ? PathResult : Extract<CheckResult, { id: K }>;
export type CheckResults = { [K in CheckId]: ResultOf<K> };

export type Severity = 'ok' | 'warn' | 'fail';

export type FindingCode =
  | 'insecure-context'
  | 'no-webrtc'
  | 'camera-denied'
  | 'camera-missing'
  | 'camera-busy'
  | 'camera-error'
  | 'camera-low'
  | 'mic-denied'
  | 'mic-missing'
  | 'mic-busy'
  | 'mic-error'
  | 'mic-silent'
  | 'speakers-not-heard'
  | 'server-unreachable'
  | 'token-needed'
  | 'token-invalid'
  | 'udp-ok'
  | 'udp-blocked-tcp'
  | 'udp-blocked-turn'
  | 'direct-blocked-turn'
  | 'no-media-path'
  | 'turn-failed'
  | 'upload-low'
  | 'download-low'
  | 'rtt-high'
  | 'server-busy';

/** The numbers a finding's sentence needs (raw: the view formats them); findings not named here have none. */
export interface FindingParams {
  'camera-low': { width: number; height: number; fps: number };
  'upload-low': { rate: number };
  'download-low': { rate: number };
  'rtt-high': { ms: number };
}

/** One sentence of the verdict: a code the view translates, its weight and its numbers. */
export type Finding = {
  [C in FindingCode]: { code: C; severity: Severity } & (C extends keyof FindingParams ? { params: FindingParams[C] } : { params?: never });
}[FindingCode];

export interface Verdict {
  /** The worst severity among the findings. */
  overall: Severity;
  findings: Finding[];
}
