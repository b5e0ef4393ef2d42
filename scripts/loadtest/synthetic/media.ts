import { loadCapture, type CaptureRecipe, type CapturedStream } from '../../bench/sfu/capture.js';

const SECONDS = 10;

/** The simulcast layers a synthetic sender publishes, lowest first, as a browser's camera would. */
export const LAYERS = [
  { width: 320, height: 180, bitrate: '150k' },
  { width: 640, height: 360, bitrate: '500k' },
  { width: 1280, height: 720, bitrate: '1200k' },
] as const;

const VIDEO_PT = 101;
const AUDIO_PT = 100;

/**
 * A synthetic sender's media: ffmpeg's test pattern once, scaled to three VP8 simulcast layers
 * (keyframes every second, aligned), and a tone as Opus — encoded once and cached, so a sender
 * spends nothing on encoding, only on sending.
 */
export const SYNTHETIC_MEDIA: CaptureRecipe = {
  name: 'synthetic-simulcast',
  seconds: SECONDS,
  streams: [
    ...LAYERS.map((_, index) => ({ kind: 'video' as const, mimeType: 'video/VP8', payloadType: VIDEO_PT, clockRate: 90000, ssrc: 31000 + index })),
    { kind: 'audio', mimeType: 'audio/opus', payloadType: AUDIO_PT, clockRate: 48000, channels: 2, ssrc: 32000 },
  ],
  ffmpegArgs: (ports) => {
    const split = `[0:v]split=${LAYERS.length}${LAYERS.map((_, i) => `[s${i}]`).join('')};${LAYERS.map(({ width, height }, i) => `[s${i}]scale=${width}:${height}[l${i}]`).join(';')}`;
    // prettier-ignore
    return [
      '-hide_banner', '-loglevel', 'error', '-nostdin',
      '-t', String(SECONDS), '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
      '-t', String(SECONDS), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-filter_complex', split,
      ...LAYERS.flatMap(({ bitrate }, i) => [
        '-map', `[l${i}]`, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', bitrate, '-maxrate', bitrate, '-bufsize', bitrate,
        '-g', '30', '-keyint_min', '30', '-auto-alt-ref', '0', '-error-resilient', '1',
        '-f', 'rtp', '-payload_type', String(VIDEO_PT), '-ssrc', String(31000 + i), `rtp://127.0.0.1:${ports[i]}?pkt_size=1200`,
      ]),
      '-map', '1:a', '-c:a', 'libopus', '-b:a', '48k', '-ac', '2', '-ar', '48000', '-application', 'voip', '-frame_duration', '20',
      '-f', 'rtp', '-payload_type', String(AUDIO_PT), '-ssrc', '32000', `rtp://127.0.0.1:${ports[LAYERS.length]}?pkt_size=1200`,
    ];
  },
};

/** One captured packet split once into what a sender rewrites (header fields) and what it sends as is. */
export interface MediaPacket {
  marker: boolean;
  /** RTP timestamp relative to the capture's first packet. */
  timestamp: number;
  payload: Buffer;
  /** This packet begins a VP8 keyframe (where a sender may jump to answer a keyframe request). */
  keyframeStart: boolean;
}

export interface MediaTrack {
  kind: 'audio' | 'video';
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  packets: MediaPacket[];
  /** Indexes of packets that begin a keyframe (video). */
  keyframes: number[];
  /** RTP ticks of one whole loop: first to last packet plus one frame. */
  loopTicks: number;
}

/** The start of the VP8 payload header after the payload descriptor (RFC 7741 §4.2), or -1. */
function vp8HeaderOffset(payload: Buffer): number {
  if (payload.length < 1) return -1;
  const first = payload[0]!;
  let offset = 1;
  if (first & 0x80) {
    const extension = payload[offset++];
    if (extension === undefined) return -1;
    if (extension & 0x80) offset += (payload[offset] ?? 0) & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
    if (extension & 0x40) offset++; // TL0PICIDX
    if (extension & 0x30) offset++; // TID / KEYIDX
  }
  return offset < payload.length ? offset : -1;
}

/** A packet that starts partition 0 of a frame whose VP8 header says keyframe (P bit clear). */
export function isVp8KeyframeStart(payload: Buffer): boolean {
  const first = payload[0] ?? 0;
  const startOfPartition = (first & 0x10) !== 0 && (first & 0x07) === 0;
  if (!startOfPartition) return false;
  const offset = vp8HeaderOffset(payload);
  return offset >= 0 && (payload[offset]! & 0x01) === 0;
}

function track(stream: CapturedStream): MediaTrack {
  const first = stream.packets[0]!.readUInt32BE(4);
  const packets = stream.packets.map((raw): MediaPacket => {
    const csrcCount = raw[0]! & 0x0f;
    let offset = 12 + csrcCount * 4;
    if (raw[0]! & 0x10) offset += 4 + raw.readUInt16BE(offset + 2) * 4;
    let end = raw.length;
    if (raw[0]! & 0x20) end -= raw[raw.length - 1]!;
    const payload = raw.subarray(offset, end);
    return {
      marker: (raw[1]! & 0x80) !== 0,
      timestamp: (raw.readUInt32BE(4) - first) >>> 0,
      payload,
      keyframeStart: stream.kind === 'video' && isVp8KeyframeStart(payload),
    };
  });
  const keyframes = packets.flatMap((packet, index) => (packet.keyframeStart ? [index] : []));
  if (stream.kind === 'video' && keyframes[0] !== 0) throw new Error('the synthetic video capture does not begin with a keyframe');
  const frameTicks = stream.kind === 'video' ? stream.clockRate / 30 : stream.clockRate / 50;
  return {
    kind: stream.kind,
    mimeType: stream.mimeType,
    payloadType: stream.payloadType,
    clockRate: stream.clockRate,
    channels: stream.channels,
    packets,
    keyframes,
    loopTicks: packets.at(-1)!.timestamp + frameTicks,
  };
}

export interface SyntheticMedia {
  /** Simulcast layers, lowest first. */
  layers: MediaTrack[];
  audio: MediaTrack;
}

/** The synthetic senders' media, encoded by ffmpeg on first use and cached under `.cache/bench`. */
export async function loadSyntheticMedia(log?: (line: string) => void): Promise<SyntheticMedia> {
  const streams = await loadCapture(SYNTHETIC_MEDIA, undefined, log);
  const tracks = streams.map(track);
  return { layers: tracks.slice(0, LAYERS.length), audio: tracks[LAYERS.length]! };
}
