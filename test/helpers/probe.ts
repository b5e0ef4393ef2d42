import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FFMPEG_PATH, type Rgb } from './media.js';

const run = promisify(execFile);

export const FFPROBE_PATH = process.env.FFPROBE_PATH ?? '/usr/bin/ffprobe';

/** Enough for a few minutes of decoded audio (s16le mono 48 kHz: 96 kB/s). */
const MAX_BUFFER = 256 * 1024 * 1024;

export interface ProbedStream {
  index: number;
  type: 'video' | 'audio' | 'subtitle' | 'data' | 'attachment';
  codec: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

export interface Probe {
  /** The container as ffprobe names it (`matroska,webm`, `flv`, `mov,mp4,m4a,3gp,3g2,mj2`…). */
  format: string;
  streams: ProbedStream[];
  /** Seconds; from the last packet when the container does not say (MediaRecorder's WebM), null for a live URL. */
  durationSeconds: number | null;
}

interface FfprobeJson {
  streams?: { index: number; codec_type: ProbedStream['type']; codec_name: string; width?: number; height?: number; sample_rate?: string; channels?: number }[];
  format?: { format_name: string; duration?: string };
  packets?: { pts_time?: string; duration_time?: string }[];
}

async function ffprobe(args: string[], timeoutMs: number): Promise<FfprobeJson> {
  const { stdout } = await run(FFPROBE_PATH, ['-v', 'error', '-of', 'json', ...args], { maxBuffer: MAX_BUFFER, timeout: timeoutMs });
  return JSON.parse(stdout) as FfprobeJson;
}

const isUrl = (target: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(target);

/** What a file (or a live URL such as `rtmp://…`) holds: its streams and how long it lasts. */
export async function probe(target: string, { timeoutMs = 20_000 } = {}): Promise<Probe> {
  // A live URL that never sends anything must fail, not hang: ffprobe's own I/O timeout is in µs.
  const live = isUrl(target) ? ['-rw_timeout', String(timeoutMs * 1000)] : [];
  const json = await ffprobe([...live, '-show_streams', '-show_format', target], timeoutMs + 5000);
  const streams = (json.streams ?? []).map((stream): ProbedStream => ({
    index: stream.index,
    type: stream.codec_type,
    codec: stream.codec_name,
    ...(stream.width !== undefined && { width: stream.width, height: stream.height }),
    ...(stream.sample_rate !== undefined && { sampleRate: Number(stream.sample_rate), channels: stream.channels }),
  }));
  let durationSeconds = json.format?.duration !== undefined ? Number(json.format.duration) : null;
  if (durationSeconds === null && !isUrl(target)) {
    const { packets = [] } = await ffprobe(['-show_entries', 'packet=pts_time,duration_time', target], timeoutMs);
    durationSeconds = packets.reduce((end, packet) => Math.max(end, Number(packet.pts_time ?? 0) + Number(packet.duration_time ?? 0)), 0);
  }
  return { format: json.format?.format_name ?? '', streams, durationSeconds };
}

/** One decoded picture, RGB24, row by row. */
export interface Frame {
  width: number;
  height: number;
  data: Buffer;
}

/**
 * The first picture at or after `seconds`, scaled to `width`×`height`; decoded from the start, so
 * exact even in a file without an index (MediaRecorder's WebM).
 */
export async function frameAt(file: string, seconds: number, width: number, height: number): Promise<Frame> {
  const { stdout } = await run(
    FFMPEG_PATH,
    [
      '-v',
      'error',
      '-i',
      file,
      '-ss',
      seconds.toFixed(3),
      '-map',
      '0:v:0',
      '-frames:v',
      '1',
      '-s',
      `${width}x${height}`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: MAX_BUFFER },
  );
  if (stdout.length !== width * height * 3) throw new Error(`no frame at ${seconds} s in ${file} (got ${stdout.length} bytes)`);
  return { width, height, data: stdout };
}

/** A picture of the file's timeline: `t` seconds from the start. */
export interface TimedFrame extends Frame {
  t: number;
}

/**
 * The first video stream sampled `perSecond` times a second (the picture shown at 0, 1/perSecond…),
 * scaled to `width`×`height`: one decode for a timeline of what a file shows when. A live URL
 * (`rtmp://…`) needs `seconds`: how much of it to watch.
 */
export async function framesOf(
  target: string,
  { perSecond = 2, width = 160, height = 90, seconds }: { perSecond?: number; width?: number; height?: number; seconds?: number } = {},
): Promise<TimedFrame[]> {
  const live = isUrl(target) ? ['-rw_timeout', String(20_000_000)] : [];
  const limit = seconds === undefined ? [] : ['-t', String(seconds)];
  const { stdout } = await run(
    FFMPEG_PATH,
    [
      '-v',
      'error',
      ...live,
      '-i',
      target,
      ...limit,
      '-map',
      '0:v:0',
      '-vf',
      `fps=${perSecond}:round=down,scale=${width}:${height}`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: MAX_BUFFER, timeout: seconds === undefined ? 0 : (seconds + 30) * 1000 },
  );
  const size = width * height * 3;
  const frames: TimedFrame[] = [];
  for (let offset = 0; offset + size <= stdout.length; offset += size) {
    frames.push({ t: frames.length / perSecond, width, height, data: stdout.subarray(offset, offset + size) });
  }
  return frames;
}

/** A rectangle of a frame, in pixels of the frame it is used on. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The share of the frame's (or region's) pixels each palette colour covers: a pixel counts for the
 * nearest palette colour within `tolerance` (Euclidean RGB distance), for none otherwise. Video
 * coding and scaling move a colour by a few tens, the background and text far more.
 */
export function colourShares<Name extends string>(
  frame: Frame,
  palette: Record<Name, Rgb>,
  { tolerance = 80, region }: { tolerance?: number; region?: Region } = {},
): Record<Name, number> {
  const names = Object.keys(palette) as Name[];
  const counts = Object.fromEntries(names.map((name) => [name, 0])) as Record<Name, number>;
  const area = region ?? { x: 0, y: 0, width: frame.width, height: frame.height };
  for (let y = area.y; y < area.y + area.height; y++) {
    for (let x = area.x; x < area.x + area.width; x++) {
      const at = (y * frame.width + x) * 3;
      let best: Name | undefined;
      let bestDistance = tolerance * tolerance;
      for (const name of names) {
        const [r, g, b] = palette[name];
        const distance = (frame.data[at]! - r) ** 2 + (frame.data[at + 1]! - g) ** 2 + (frame.data[at + 2]! - b) ** 2;
        if (distance <= bestDistance) {
          best = name;
          bestDistance = distance;
        }
      }
      if (best !== undefined) counts[best] += 1;
    }
  }
  const pixels = area.width * area.height;
  return Object.fromEntries(names.map((name) => [name, counts[name] / pixels])) as Record<Name, number>;
}

/** The palette colours that cover at least `minShare` (0–1) of the frame, in palette order. */
export function countColours<Name extends string>(
  frame: Frame,
  palette: Record<Name, Rgb>,
  minShare: number,
  options: { tolerance?: number; region?: Region } = {},
): Name[] {
  const shares = colourShares(frame, palette, options);
  return (Object.keys(palette) as Name[]).filter((name) => shares[name] >= minShare);
}

export interface AvSync {
  /** Seconds from the file's start to each flash (first frame of a white run). */
  flashes: number[];
  /** Seconds from the file's start to each beep onset. */
  beeps: number[];
  /** Beep minus flash for each flash with a beep within half a period: positive when the sound is late. */
  offsetsMs: number[];
  medianMs: number;
  /** The offset farthest from the median, with its sign. */
  maxMs: number;
}

/** Per-frame mean luma (0–255) of the first video stream, or of a region of it, with each frame's time. */
async function lumaSeries(file: string, region?: Region): Promise<{ t: number; luma: number }[]> {
  const crop = region ? `crop=${region.width}:${region.height}:${region.x}:${region.y},` : '';
  // -copyts: times as the container has them, like the audio's (aresample pads from 0).
  const { stdout } = await run(
    FFMPEG_PATH,
    ['-v', 'error', '-copyts', '-i', file, '-map', '0:v:0', '-vf', `${crop}signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-`, '-f', 'null', '-'],
    { maxBuffer: MAX_BUFFER },
  );
  const series: { t: number; luma: number }[] = [];
  let t: number | undefined;
  for (const line of stdout.split('\n')) {
    const time = /pts_time:(-?[\d.]+)/.exec(line);
    if (time) t = Number(time[1]);
    const luma = /lavfi\.signalstats\.YAVG=([\d.]+)/.exec(line);
    if (luma && t !== undefined) series.push({ t, luma: Number(luma[1]) });
  }
  return series;
}

/** The first audio stream as mono 48 kHz samples, sample 0 at the container's time 0. */
async function audioSamples(file: string): Promise<{ samples: Int16Array; rate: number }> {
  const rate = 48_000;
  const { stdout } = await run(
    FFMPEG_PATH,
    ['-v', 'error', '-copyts', '-i', file, '-map', '0:a:0', '-af', `aresample=${rate}:async=1:first_pts=0`, '-ac', '1', '-f', 's16le', '-'],
    { encoding: 'buffer', maxBuffer: MAX_BUFFER },
  );
  return { samples: new Int16Array(stdout.buffer, stdout.byteOffset, Math.floor(stdout.length / 2)), rate };
}

/** Times where `level` rises through `threshold` after staying below it for at least `quietSeconds`. */
function onsets(points: { t: number; level: number }[], threshold: number, quietSeconds: number): number[] {
  const found: number[] = [];
  let lastLoud = -Infinity;
  for (const { t, level } of points) {
    if (level < threshold) continue;
    if (t - lastLoud >= quietSeconds) found.push(t);
    lastLoud = t;
  }
  return found;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The circular mean of offsets on a clock of `period`: ±period/2 are the same point, so it does not split there. */
function circularMean(offsets: number[], period: number): number {
  const angles = offsets.map((offset) => (2 * Math.PI * offset) / period);
  const x = angles.reduce((sum, angle) => sum + Math.cos(angle), 0);
  const y = angles.reduce((sum, angle) => sum + Math.sin(angle), 0);
  return (Math.atan2(y, x) * period) / (2 * Math.PI);
}

/**
 * How far a recording's sound is off its picture, from the flash-and-beep pattern of `syncClips`
 * (test/helpers/media.ts): each flash (a jump in mean luma, of the whole frame or of `region`)
 * is paired with a beep onset (2 ms RMS envelope). With a pattern that repeats every period, an
 * offset is known only up to whole periods: each flash takes the beep nearest to `flash + aroundMs`,
 * so offsets lie within half a period of `aroundMs` — by default of their own circular mean, so a
 * true offset near half a period is not split between its two sides.
 */
export async function measureAvSync(
  file: string,
  { region, periodMs = 1000, aroundMs }: { region?: Region; periodMs?: number; aroundMs?: number } = {},
): Promise<AvSync> {
  const [frames, audio] = await Promise.all([lumaSeries(file, region), audioSamples(file)]);
  const lumas = frames.map((frame) => frame.luma).sort((a, b) => a - b);
  const dark = lumas[Math.floor(lumas.length * 0.1)] ?? 0;
  const bright = lumas.at(-1) ?? 0;
  if (bright - dark < 40) throw new Error(`no flashes in ${file}: mean luma only ${dark.toFixed(0)}–${bright.toFixed(0)} over ${frames.length} frames`);
  const quiet = periodMs / 1000 / 2;
  const flashes = onsets(
    frames.map(({ t, luma }) => ({ t, level: luma })),
    (dark + bright) / 2,
    quiet,
  );

  const window = Math.round(audio.rate * 0.002);
  const envelope: { t: number; level: number }[] = [];
  for (let start = 0; start + window <= audio.samples.length; start += window) {
    let sum = 0;
    for (let i = start; i < start + window; i++) sum += audio.samples[i]! ** 2;
    envelope.push({ t: start / audio.rate, level: Math.sqrt(sum / window) });
  }
  const loudest = envelope.map((point) => point.level).sort((a, b) => a - b)[Math.floor(envelope.length * 0.999)] ?? 0;
  if (loudest < 300) throw new Error(`no beeps in ${file}: the loudest 2 ms RMS is ${loudest.toFixed(0)}`);
  const beeps = onsets(envelope, loudest * 0.3, quiet);

  /** Beep minus flash for each flash, the beep taken nearest to `flash + centreMs`. */
  const pair = (centreMs: number): number[] =>
    flashes.flatMap((flash) => {
      const target = flash + centreMs / 1000;
      const nearest = beeps.reduce((best, beep) => (Math.abs(beep - target) < Math.abs(best - target) ? beep : best), Infinity);
      return Math.abs(nearest - target) <= quiet ? [Math.round((nearest - flash) * 1000)] : [];
    });
  const first = pair(0);
  if (first.length === 0) throw new Error(`no flash has a beep within ${quiet * 1000} ms in ${file}: flashes ${flashes.join(', ')}; beeps ${beeps.join(', ')}`);
  const offsetsMs = pair(aroundMs ?? circularMean(first, periodMs));
  if (offsetsMs.length === 0) throw new Error(`no flash has a beep within ${quiet * 1000} ms of ${aroundMs} ms after it in ${file}`);
  const centre = median(offsetsMs);
  const maxMs = offsetsMs.reduce((max, offset) => (Math.abs(offset - centre) > Math.abs(max - centre) ? offset : max), centre);
  return { flashes, beeps, offsetsMs, medianMs: centre, maxMs };
}
