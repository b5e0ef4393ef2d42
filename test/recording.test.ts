import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redactStreamUrl, type RecordingInfo, type RecordingStatus } from '../shared/recording.js';
import type { WebhookEvent } from '../shared/webhooks.js';
import { failureOf, TestParticipant, unwrap } from './helpers/participant.js';
import { probe } from './helpers/probe.js';
import { startRtmpServer } from './helpers/rtmp.js';
import { CLIENT_DIST, eventually, useServer, type TestServer } from './helpers/server.js';

const KEY = 'recording-admin-key-0123456789abcdef';

/** A real webhook receiver: every event the server posts, in order. */
class Collector {
  readonly events: WebhookEvent[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Collector> {
    const server = createServer();
    const collector = new Collector(server);
    server.on('request', (req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        collector.events.push(JSON.parse(Buffer.concat(parts).toString('utf8')) as WebhookEvent);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return collector;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  of<N extends WebhookEvent['event']>(event: N, room: string): Extract<WebhookEvent, { event: N }>[] {
    return this.events.filter((candidate): candidate is Extract<WebhookEvent, { event: N }> => candidate.event === event && candidate.room === room);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

function api(server: TestServer) {
  return async <T = Record<string, unknown>>(method: string, route: string, body?: unknown, key: string | null = KEY): Promise<Answer<T>> => {
    const response = await fetch(`${server.url}/api/v1${route}`, {
      method,
      headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  };
}

/** The first four bytes of every WebM (Matroska EBML header). */
const EBML_MAGIC = '1a45dfa3';

const dirs: string[] = [];
function recordingsDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conclave-recordings-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Recording through the real server: a real compositor (headless Chromium) joins the room unseen
 * and a real ffmpeg writes the file. The participants here are signalling clients without media:
 * the compositor still draws their tiles, and the file still has a video and an audio track.
 */
describe('recording a meeting', () => {
  let hooks: Collector | undefined;
  // Listening before the server starts, which reads WEBHOOK_URLS once.
  beforeAll(async () => {
    hooks = await Collector.start();
  });
  const server = useServer(() => ({
    CLIENT_DIST,
    ADMIN_API_KEY: KEY,
    RECORDINGS_DIR: recordingsDir(),
    RECORDING_RESOLUTION: '640x360',
    RECORDING_FRAME_RATE: '15',
    RECORDING_MIN_FREE_MB: '1',
    MAX_RECORDINGS: '2',
    WEBHOOK_URLS: collector().url,
  }));
  const everyone: TestParticipant[] = [];
  const call = api(server);

  afterEach(async () => {
    await Promise.all(everyone.splice(0).map((participant) => participant.close()));
    await eventually(async () => (await server.health()).rooms === 0, { what: 'every room to close' });
  });
  afterAll(async () => hooks?.close());

  async function meeting(room: string, ...names: string[]): Promise<TestParticipant[]> {
    const people: TestParticipant[] = [];
    for (const name of names) {
      const person = await TestParticipant.connect(server.url, name);
      everyone.push(person);
      await person.join(room);
      people.push(person);
    }
    return people;
  }

  function collector(): Collector {
    if (!hooks) throw new Error('no webhook receiver');
    return hooks;
  }

  it('is started and stopped by a host, seen by everyone, and gives hosts a link to the file', async () => {
    const [ana, ben] = await meeting('rec-main', 'Ana', 'Ben');
    if (!ana || !ben) throw new Error('two participants expected');

    const started = unwrap(await ana.request('startRecording', { layout: 'grid' }, 40_000), 'startRecording');
    expect(started.recording).toMatchObject({ layout: 'grid', startedBy: 'Ana' });
    for (const person of [ana, ben]) {
      const status = await person.waitFor('recordingStatus', (payload) => payload.change?.started === true);
      expect(status.recording?.startedBy).toBe('Ana');
    }
    // Someone joining meanwhile is told at once.
    const [cleo] = await meeting('rec-main', 'Cleo');
    expect((await cleo?.waitFor('recordingStatus'))?.recording).not.toBeNull();
    expect(failureOf(await ana.request('startRecording', { layout: 'speaker' })).code).toBe('BAD_REQUEST');

    await new Promise((resolve) => setTimeout(resolve, 3000));
    const stopped = unwrap(await ana.request('stopRecording', {}, 40_000), 'stopRecording');
    expect(stopped.recording).toBeNull();
    const notice = await ben.waitFor('recordingStatus', (payload) => payload.change?.started === false);
    expect(notice.change?.reason).toBe('stopped');

    const ready = await ana.waitFor('recordingReady', undefined, 20_000);
    expect(ready.bytes).toBeGreaterThan(10_000);
    expect(ready.durationSeconds).toBeGreaterThan(1.5);
    expect(ben.notifications('recordingReady')).toHaveLength(0);

    // The host's link downloads the file without the admin key; a changed signature does not.
    const download = await fetch(`${server.url}${ready.downloadUrl}`);
    expect(download.status).toBe(200);
    const file = Buffer.from(await download.arrayBuffer());
    expect(file.subarray(0, 4).toString('hex')).toBe(EBML_MAGIC);
    expect(file.length).toBe(ready.bytes);
    const forged = await fetch(`${server.url}${ready.downloadUrl.replace(/signature=.{4}/, 'signature=AAAA')}`);
    expect(forged.status).toBe(403);

    // The operator lists, reads, downloads and deletes it, always with the key.
    const listed = await call<{ recordings: RecordingInfo[] }>('GET', '/recordings');
    const info = listed.body.recordings.find((candidate) => candidate.id === ready.id);
    expect(info).toMatchObject({ room: 'rec-main', status: 'finished', endReason: 'stopped', bytes: ready.bytes });
    expect((await call('GET', `/recordings/${ready.id}/file`, undefined, null)).status).toBe(401);
    const viaApi = await fetch(`${server.url}/api/v1/recordings/${ready.id}/file`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(Buffer.from(await viaApi.arrayBuffer()).length).toBe(ready.bytes);
    expect((await call('GET', '/recordings/..%2F..%2Fetc%2Fpasswd')).status).toBe(404);

    const events = await eventually(() => (collector().of('recording_finished', 'rec-main').length > 0 ? collector() : undefined), {
      what: 'the recording_finished webhook',
    });
    expect(events.of('recording_started', 'rec-main')[0]).toMatchObject({ recording: { id: ready.id, file: ready.file, layout: 'grid' }, by: { name: 'Ana' } });
    expect(events.of('recording_finished', 'rec-main')[0]).toMatchObject({
      recording: { id: ready.id, bytes: ready.bytes, durationSeconds: ready.durationSeconds },
      reason: 'stopped',
    });

    expect((await call('DELETE', `/recordings/${ready.id}`)).status).toBe(200);
    expect((await call('GET', `/recordings/${ready.id}`)).status).toBe(404);
    expect((await fetch(`${server.url}${ready.downloadUrl}`)).status).toBe(404);
  });

  it('refuses participants, bad requests and a missing key with clear errors', async () => {
    const [ana, ben] = await meeting('rec-refusals', 'Ana', 'Ben');
    if (!ana || !ben) throw new Error('two participants expected');
    expect(failureOf(await ben.request('startRecording', { layout: 'grid' }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(failureOf(await ben.request('startStream', { url: 'rtmp://127.0.0.1/live/key', layout: 'grid' })).code).toBe('FORBIDDEN');
    expect(failureOf(await ana.request('stopRecording', {})).code).toBe('NOT_FOUND');
    expect(failureOf(await ana.request('startStream', { url: 'https://example.com/live/key', layout: 'grid' })).code).toBe('BAD_REQUEST');

    expect((await call('POST', '/rooms/rec-refusals/recording', {}, null)).status).toBe(401);
    expect((await call('POST', '/rooms/rec-refusals/recording', { layout: 'mosaic' })).status).toBe(400);
    expect((await call('POST', '/rooms/rec-refusals/stream', { url: 'rtmp://nokey' })).status).toBe(400);
    expect((await call('POST', '/rooms/no-such-room/recording', {})).status).toBe(404);
    expect((await call('DELETE', '/rooms/rec-refusals/stream')).status).toBe(404);
    // An ingest that refuses the connection: the start is refused with why, and nobody hears of a stream.
    const refused = failureOf(await ana.request('startStream', { url: 'rtmp://127.0.0.1:1/live/refused-key', layout: 'grid' }, 40_000));
    expect(refused).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/could not start/) });
    expect(refused.message).not.toContain('refused-key');
    expect(ben.notifications('recordingStatus')).toHaveLength(0);
    expect(collector().of('stream_started', 'rec-refusals')).toHaveLength(0);
  });

  it('a recorder that crashes ends the recording, reported, and leaves the meeting untouched', async () => {
    const [ana, ben] = await meeting('rec-crash', 'Ana', 'Ben');
    if (!ana || !ben) throw new Error('two participants expected');
    const started = await call<{ status: RecordingStatus; recording: RecordingInfo }>('POST', '/rooms/rec-crash/recording', { layout: 'speaker' });
    expect(started.status).toBe(201);
    expect(started.body.status.recording?.startedBy).toBeNull();
    const pid = server.recordings.compositorPid('rec-crash', 'recording');
    expect(pid).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    process.kill(pid as number, 'SIGKILL');

    const notice = await ana.waitFor('recordingStatus', (payload) => payload.change?.started === false, 20_000);
    expect(notice.change?.reason).toBe('failed');
    const finished = await eventually(() => collector().of('recording_finished', 'rec-crash')[0], { what: 'recording_finished', timeoutMs: 20_000 });
    expect(finished.reason).toBe('failed');
    expect(finished.error).toMatch(/stopped unexpectedly/);
    // What was recorded until the crash is kept.
    expect(finished.recording.bytes).toBeGreaterThan(0);

    // The meeting goes on: both still there, still answered; a new recording can start.
    expect(ana.connected && ben.connected).toBe(true);
    unwrap(await ben.request('raiseHand', {}), 'raiseHand');
    const described = await call<{ participants: unknown[] }>('GET', '/rooms/rec-crash');
    expect(described.body.participants).toHaveLength(2);
    unwrap(await ana.request('startRecording', { layout: 'grid' }, 40_000), 'startRecording again');
    unwrap(await ana.request('stopRecording', {}, 40_000), 'stopRecording');
  });

  it('streams the meeting to a real RTMP server, reports a dropped connection, and never shows the key', async () => {
    const key = 'sekrit-stream-key-4242';
    const rtmp = await startRtmpServer();
    try {
      const [ana, ben] = await meeting('rec-live', 'Ana', 'Ben');
      if (!ana || !ben) throw new Error('two participants expected');
      const url = rtmp.url('live', key);
      const started = unwrap(await ana.request('startStream', { url, layout: 'speaker' }, 40_000), 'startStream');
      expect(started.streaming).toMatchObject({ layout: 'speaker', startedBy: 'Ana' });
      expect((await ben.waitFor('recordingStatus', (payload) => payload.change?.kind === 'stream')).streaming).not.toBeNull();

      // What a viewer of the ingest gets: H.264 video and AAC audio.
      const received = await probe(url);
      expect(received.streams.map((stream) => `${stream.type}:${stream.codec}`).sort()).toEqual(['audio:aac', 'video:h264']);

      // The ingest goes away: the server says so, and tries again.
      await rtmp.stop();
      const problem = await ana.waitFor('streamProblem', undefined, 20_000);
      expect(problem).toMatchObject({ retrying: true, attempt: 1 });
      const failed = await eventually(() => collector().of('stream_failed', 'rec-live')[0], { what: 'stream_failed', timeoutMs: 20_000 });
      expect(failed).toMatchObject({ retrying: true, attempt: 1, stream: { url: `rtmp://127.0.0.1:${rtmp.port}/live/…`, layout: 'speaker' } });

      unwrap(await ana.request('stopStream', {}, 40_000), 'stopStream');
      const finished = await eventually(() => collector().of('stream_finished', 'rec-live')[0], { what: 'stream_finished', timeoutMs: 20_000 });
      expect(finished.reason).toBe('stopped');
      expect(collector().of('stream_started', 'rec-live')[0]?.stream.url).toBe(`rtmp://127.0.0.1:${rtmp.port}/live/…`);
      // Nowhere after it was entered: not to the webhooks, not to anyone in the call.
      expect(JSON.stringify(collector().events)).not.toContain(key);
      expect(JSON.stringify([...ana.timeline, ...ben.timeline].filter((entry) => entry.type === 'notification'))).not.toContain(key);
    } finally {
      await rtmp.stop();
    }
  });

  it('stops by itself when the meeting empties', async () => {
    const [ana] = await meeting('rec-empty', 'Ana');
    if (!ana) throw new Error('a participant expected');
    unwrap(await ana.request('startRecording', { layout: 'grid' }, 40_000), 'startRecording');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await ana.close();
    const finished = await eventually(() => collector().of('recording_finished', 'rec-empty')[0], { what: 'recording_finished', timeoutMs: 20_000 });
    expect(finished, JSON.stringify(finished)).toMatchObject({ reason: 'meetingEnded', recording: { bytes: expect.any(Number) } });
    expect(finished.recording.bytes).toBeGreaterThan(0);
    expect(server.recordings.compositorPid('rec-empty', 'recording')).toBeUndefined();
  });
});

describe('recording limits', () => {
  const server = useServer(() => ({
    CLIENT_DIST,
    ADMIN_API_KEY: KEY,
    RECORDINGS_DIR: recordingsDir(),
    RECORDING_RESOLUTION: '320x180',
    RECORDING_FRAME_RATE: '10',
    RECORDING_MIN_FREE_MB: '1',
    MAX_RECORDINGS: '1',
    // Three seconds.
    MAX_RECORDING_MINUTES: '0.05',
  }));
  const everyone: TestParticipant[] = [];
  afterEach(async () => {
    await Promise.all(everyone.splice(0).map((participant) => participant.close()));
  });

  it('runs at most MAX_RECORDINGS at once and stops each after MAX_RECORDING_MINUTES', async () => {
    const ana = await TestParticipant.connect(server.url, 'Ana');
    const ben = await TestParticipant.connect(server.url, 'Ben');
    everyone.push(ana, ben);
    await ana.join('limit-a');
    await ben.join('limit-b');
    unwrap(await ana.request('startRecording', { layout: 'grid' }, 40_000), 'startRecording');
    expect(failureOf(await ben.request('startRecording', { layout: 'grid' }))).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/MAX_RECORDINGS/),
    });
    const ended = await ana.waitFor('recordingStatus', (payload) => payload.change?.started === false, 20_000);
    expect(ended.change?.reason).toBe('timeLimit');
    unwrap(await ben.request('startRecording', { layout: 'grid' }, 40_000), 'startRecording once a place is free');
  });
});

describe('recording on a nearly full disk', () => {
  const server = useServer(() => ({ RECORDINGS_DIR: recordingsDir(), RECORDING_MIN_FREE_MB: '9000000' }));

  it('refuses to start, saying why', async () => {
    const ana = await TestParticipant.connect(server.url, 'Ana');
    await ana.join('full-disk');
    expect(failureOf(await ana.request('startRecording', { layout: 'grid' }))).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/nearly full/),
    });
    await ana.close();
  });
});

describe('a stream URL', () => {
  it('is shown without its key', () => {
    expect(redactStreamUrl('rtmp://live.example.com:1935/app/s3cr3t-key?x=1')).toBe('rtmp://live.example.com:1935/app/…');
    expect(redactStreamUrl('rtmps://user:pw@live.example.com/live2/abc')).toBe('rtmps://live.example.com/live2/…');
  });
});
