import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isRtp, sequenceOf, timestampOf } from './rtp.js';

export type MediaKind = 'audio' | 'video';

/** One RTP stream as ffmpeg sent it, with what a producer needs to declare it. */
export interface CapturedStream {
  kind: MediaKind;
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  ssrc: number;
  packets: Buffer[];
}

export const SECONDS = 10;

/** What one capture is: ffmpeg's arguments (one RTP output per stream, to the ports given) and the streams they make. */
export interface CaptureRecipe {
  /** Names the cache file, with a hash of the arguments. */
  name: string;
  seconds: number;
  streams: Omit<CapturedStream, 'packets'>[];
  ffmpegArgs: (ports: number[]) => string[];
}

/**
 * Real encoded media: ffmpeg's test pattern as VP8 (640x480, 30 fps, 1 Mbit/s, a keyframe every
 * second) and a tone as Opus (20 ms frames), sent as RTP over loopback and kept. Encoding is done
 * once and cached, so the stress itself spends no CPU on it.
 */
export const SFU_BENCH_MEDIA: CaptureRecipe = {
  name: 'media',
  seconds: SECONDS,
  streams: [
    { kind: 'video', mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, ssrc: 11111111 },
    { kind: 'audio', mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, ssrc: 22222222 },
  ],
  // prettier-ignore
  ffmpegArgs: ([videoPort, audioPort]) => [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    '-t', String(SECONDS), '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=30',
    '-t', String(SECONDS), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M', '-maxrate', '1M', '-bufsize', '500k',
    '-g', '30', '-keyint_min', '30', '-auto-alt-ref', '0', '-error-resilient', '1',
    '-f', 'rtp', '-payload_type', '101', '-ssrc', '11111111', `rtp://127.0.0.1:${videoPort}?pkt_size=1200`,
    '-map', '1:a', '-c:a', 'libopus', '-b:a', '64k', '-ac', '2', '-ar', '48000', '-application', 'voip', '-frame_duration', '20',
    '-f', 'rtp', '-payload_type', '100', '-ssrc', '22222222', `rtp://127.0.0.1:${audioPort}?pkt_size=1200`,
  ],
};

/** Packets as length-prefixed records: [stream index][u16 length][bytes]… */
function serialize(list: CapturedStream[]): Buffer {
  const parts: Buffer[] = [];
  list.forEach((stream, index) => {
    for (const packet of stream.packets) {
      const header = Buffer.alloc(3);
      header.writeUInt8(index, 0);
      header.writeUInt16BE(packet.length, 1);
      parts.push(header, packet);
    }
  });
  return Buffer.concat(parts);
}

function deserialize(recipe: CaptureRecipe, data: Buffer): CapturedStream[] {
  const byStream: Buffer[][] = recipe.streams.map(() => []);
  for (let offset = 0; offset + 3 <= data.length;) {
    const index = data.readUInt8(offset);
    const length = data.readUInt16BE(offset + 1);
    byStream[index]?.push(data.subarray(offset + 3, offset + 3 + length));
    offset += 3 + length;
  }
  return recipe.streams.map((stream, index) => ({ ...stream, packets: byStream[index]! }));
}

async function bindLoopback(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  // ffmpeg sends faster than real time; the whole capture must fit in the socket buffer meanwhile.
  socket.setRecvBufferSize(8 * 2 ** 20);
  return socket;
}

async function encode(recipe: CaptureRecipe): Promise<CapturedStream[]> {
  const sockets = await Promise.all(recipe.streams.map(() => bindLoopback()));
  const captured: Buffer[][] = recipe.streams.map(() => []);
  sockets.forEach((socket, index) => socket.on('message', (packet) => isRtp(packet) && captured[index]!.push(packet)));
  try {
    await new Promise<void>((resolve, reject) => {
      const args = recipe.ffmpegArgs(sockets.map((socket) => socket.address().port));
      const ffmpeg = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      ffmpeg.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => ffmpeg.kill('SIGKILL'), 120_000);
      ffmpeg.on('error', (error) => reject(new Error(`cannot run ffmpeg (apt-get install ffmpeg): ${error.message}`)));
      ffmpeg.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`ffmpeg failed (exit ${code}): ${stderr.trim().slice(-500)}`));
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the last datagrams
  } finally {
    for (const socket of sockets) socket.close();
  }
  return recipe.streams.map((stream, index) => ({ ...stream, packets: captured[index]! }));
}

/** Checks the capture is whole: every sequence number in order, and the duration it should have. */
export function checkCapture(list: CapturedStream[], seconds = SECONDS): void {
  for (const stream of list) {
    const { packets } = stream;
    if (packets.length < 100) throw new Error(`only ${packets.length} ${stream.kind} packets captured`);
    for (let i = 1; i < packets.length; i++) {
      if (((sequenceOf(packets[i]!) - sequenceOf(packets[i - 1]!)) & 0xffff) !== 1) {
        throw new Error(`${stream.kind} capture has a gap at packet ${i}`);
      }
    }
    const spanned = ((timestampOf(packets.at(-1)!) - timestampOf(packets[0]!)) >>> 0) / stream.clockRate;
    if (spanned < seconds - 1) throw new Error(`${stream.kind} capture spans only ${spanned.toFixed(1)} s`);
  }
}

/** A recipe's media, from the cache or freshly encoded (and then cached). */
export async function loadCapture(
  recipe: CaptureRecipe,
  cacheDir = path.resolve('.cache/bench'),
  log: (line: string) => void = () => undefined,
): Promise<CapturedStream[]> {
  const key = createHash('sha256')
    .update(recipe.ffmpegArgs(recipe.streams.map(() => 0)).join(' '))
    .digest('hex')
    .slice(0, 16);
  const file = path.join(cacheDir, `${recipe.name}-${key}.rtp`);
  if (existsSync(file)) {
    const cached = deserialize(recipe, readFileSync(file));
    checkCapture(cached, recipe.seconds);
    return cached;
  }
  log(`encoding ${recipe.seconds} s of ${recipe.name} with ffmpeg (once; cached in ${path.relative(process.cwd(), cacheDir) || cacheDir})…`);
  const fresh = await encode(recipe);
  checkCapture(fresh, recipe.seconds);
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(file, serialize(fresh));
  return fresh;
}

/** The SFU bench's media (VP8 + Opus), from the cache or freshly encoded. */
export function loadMedia(cacheDir?: string, log?: (line: string) => void): Promise<CapturedStream[]> {
  return loadCapture(SFU_BENCH_MEDIA, cacheDir, log);
}
