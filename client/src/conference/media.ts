/**
 * Getting tracks from the browser, with errors a person can act on, and how they are sent. Errors
 * carry their source and reason (and the browser's detail) for views to word in the reader's
 * language; their English `message` is for logs.
 */

import type { types } from 'mediasoup-client';
import type { MediaSource } from '../../../shared/protocol.js';

/** How a message names each source: at the start of a sentence, and inside one. */
const LABEL: Record<MediaSource, string> = { mic: 'Microphone', camera: 'Camera', screen: 'Screen sharing' };
const NOUN: Record<MediaSource, string> = { mic: 'microphone', camera: 'camera', screen: 'screen' };

export type MediaAccessReason = 'insecure-context' | 'denied' | 'not-found' | 'busy' | 'unknown';

export class MediaAccessError extends Error {
  constructor(
    readonly source: MediaSource,
    readonly reason: MediaAccessReason,
    message: string,
    /** What the browser said, for an 'unknown' failure. */
    readonly detail = '',
  ) {
    super(message);
    this.name = 'MediaAccessError';
  }
}

export const CAMERA_CONSTRAINTS: MediaTrackConstraints = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 30, max: 30 },
};

/**
 * The camera as three VP8 simulcast layers, lowest first (mediasoup-client names them r0–r2):
 * a quarter, half and full resolution, each with three temporal layers, so the server can give
 * every viewer the size its tile needs and step down frame rate or size when a downlink is short.
 * Chrome sends fewer layers from a small capture (two from 640×360); the server then uses what
 * arrives. Each layer's bit rate follows its size (`layerMaxBitrate`), so a smaller camera's layers
 * cost less: a 1280×720 camera sends 320×180, 640×360 and 1280×720 at 150 kbit/s, 500 kbit/s and
 * 1.2 Mbit/s; a 640×360 camera 160×90, 320×180 and 640×360 at 80, 150 and 500 kbit/s.
 */
export function cameraEncodings(capture: { width?: number | undefined; height?: number | undefined }): types.RtpEncodingParameters[] {
  const width = capture.width ?? 1280;
  const height = capture.height ?? 720;
  return [4, 2, 1].map((scaleResolutionDownBy) => ({
    scaleResolutionDownBy,
    maxBitrate: layerMaxBitrate(width / scaleResolutionDownBy, height / scaleResolutionDownBy),
    scalabilityMode: 'L1T3',
  }));
}

/**
 * The most one camera layer may send, by its area: between these sizes the rate is interpolated
 * by pixel count, beyond them it stays at the end's. The encoder spends whatever it is allowed,
 * so a fixed rate per layer index gave a 160×90 layer 150 kbit/s (half a bit per pixel) and made
 * the lowest layers of a 640×360 camera as dear as a 720p camera's, which a poor downlink felt:
 * two of them and two voices filled 80 % of a 500 kbit/s link.
 */
const LAYER_BITRATES: readonly (readonly [pixels: number, bps: number])[] = [
  [160 * 90, 80_000],
  [320 * 180, 150_000],
  [640 * 360, 500_000],
  [1280 * 720, 1_200_000],
];

export function layerMaxBitrate(width: number, height: number): number {
  const pixels = width * height;
  const [first] = LAYER_BITRATES;
  if (!first || pixels <= first[0]) return first?.[1] ?? 1_200_000;
  for (let i = 1; i < LAYER_BITRATES.length; i++) {
    const [pixelsBelow, bpsBelow] = LAYER_BITRATES[i - 1]!;
    const [pixelsAbove, bpsAbove] = LAYER_BITRATES[i]!;
    if (pixels <= pixelsAbove) return Math.round(bpsBelow + ((bpsAbove - bpsBelow) * (pixels - pixelsBelow)) / (pixelsAbove - pixelsBelow));
  }
  return LAYER_BITRATES.at(-1)![1];
}

/**
 * A screen share as one full-resolution layer: text must stay sharp (the track's contentHint
 * 'detail' makes the encoder drop frames rather than resolution), and slides change rarely.
 * `dtx` tells mediasoup that long gaps between frames of a static screen are normal.
 */
export const SCREEN_ENCODINGS: types.RtpEncodingParameters[] = [{ maxBitrate: 2_500_000, dtx: true }];

export const MIC_CONSTRAINTS: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

/** This page's origin, which the insecure-context message names. */
export function pageOrigin(): string {
  return `${location.protocol}//${location.host}`;
}

/** Whether the browser offers cameras and microphones on this page at all. */
export function mediaAvailable(): boolean {
  return window.isSecureContext && Boolean(navigator.mediaDevices);
}

function explain(source: MediaSource, error: unknown): MediaAccessError {
  const name = error instanceof DOMException || error instanceof Error ? error.name : '';
  const label = LABEL[source];
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new MediaAccessError(source, 'denied', `${label} permission was denied. Allow it in the browser's site settings to be seen or heard.`);
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new MediaAccessError(source, 'not-found', `No ${NOUN[source]} was found.`);
    case 'NotReadableError':
    case 'AbortError':
      return new MediaAccessError(source, 'busy', `The ${NOUN[source]} is in use by another application or could not start.`);
    default: {
      const detail = error instanceof Error ? error.message : String(error);
      return new MediaAccessError(source, 'unknown', `${label} failed: ${detail}`, detail);
    }
  }
}

function mediaDevices(source: MediaSource): MediaDevices {
  if (!mediaAvailable()) {
    throw new MediaAccessError(source, 'insecure-context', `Camera and microphone need a secure page; this page is ${pageOrigin()}.`);
  }
  return navigator.mediaDevices;
}

export async function getCameraTrack(deviceId?: string): Promise<MediaStreamTrack> {
  const devices = mediaDevices('camera');
  try {
    const stream = await devices.getUserMedia({ video: { ...CAMERA_CONSTRAINTS, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) } });
    return firstTrack(stream, 'video');
  } catch (error) {
    throw explain('camera', error);
  }
}

export async function getMicTrack(deviceId?: string): Promise<MediaStreamTrack> {
  const devices = mediaDevices('mic');
  try {
    const stream = await devices.getUserMedia({ audio: { ...MIC_CONSTRAINTS, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) } });
    return firstTrack(stream, 'audio');
  } catch (error) {
    throw explain('mic', error);
  }
}

export async function getScreenTrack(): Promise<MediaStreamTrack> {
  const devices = mediaDevices('screen');
  try {
    const stream = await devices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    const track = firstTrack(stream, 'video');
    // Text and slides: keep sharpness, drop frames first.
    track.contentHint = 'detail';
    return track;
  } catch (error) {
    throw explain('screen', error);
  }
}

function firstTrack(stream: MediaStream, kind: 'audio' | 'video'): MediaStreamTrack {
  const track = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
  if (!track) throw new Error(`The browser returned no ${kind} track`);
  return track;
}

export interface DeviceChoice {
  deviceId: string;
  /** Empty until the page has had a permission grant: views then name it by `number`. */
  label: string;
  /** 1 for the first device of its kind. */
  number: number;
}

/** Cameras and microphones. */
export async function listDevices(): Promise<{ cameras: DeviceChoice[]; microphones: DeviceChoice[] }> {
  if (!navigator.mediaDevices) return { cameras: [], microphones: [] };
  const devices = await navigator.mediaDevices.enumerateDevices();
  const pick = (kind: MediaDeviceKind): DeviceChoice[] =>
    devices
      .filter((device) => device.kind === kind && device.deviceId !== '')
      .map((device, index) => ({ deviceId: device.deviceId, label: device.label, number: index + 1 }));
  return { cameras: pick('videoinput'), microphones: pick('audioinput') };
}
