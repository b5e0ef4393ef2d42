import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConclaveError } from '../../../shared/errors.js';
import type { RecordingInfo } from '../../../shared/recording.js';

/** A recording's id is also its file name: nothing a request can turn into another path. */
const RECORDING_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}-\d{8}-\d{6}-[0-9a-f]{6}$/;

/** How long a host's download link works. */
export const DOWNLOAD_LINK_TTL_MS = 24 * 3600 * 1000;
export const DOWNLOAD_PATH = '/api/recording-download';

/**
 * The recordings on disk: `<id>.webm` and its description `<id>.json` in RECORDINGS_DIR, so the
 * list survives a restart. A file being written is `<id>.webm.part` until it is finished.
 */
export class RecordingStore {
  private readonly linkKey: Buffer;

  constructor(
    readonly dir: string,
    private readonly minFreeBytes: number,
    /** Signs download links; a random key per process when the operator gave none. */
    linkSecret: string | undefined,
  ) {
    this.linkKey = linkSecret ? createHmac('sha256', 'conclave-recording-links').update(linkSecret).digest() : randomBytes(32);
  }

  /** A new id for a room's recording starting now. */
  newId(room: string, now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    return `${room}-${stamp}-${randomBytes(3).toString('hex')}`;
  }

  fileOf(id: string): string {
    return path.join(this.dir, `${id}.webm`);
  }

  partOf(id: string): string {
    return `${this.fileOf(id)}.part`;
  }

  /** Refuses to start when the disk is nearly full: a clear error now rather than a cut-off file later. */
  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const disk = await statfs(this.dir);
    const free = disk.bavail * disk.bsize;
    if (free < this.minFreeBytes) {
      const mib = (bytes: number): string => `${Math.floor(bytes / 1024 / 1024)} MiB`;
      throw new ConclaveError('UNAVAILABLE', `The recordings disk is nearly full (${mib(free)} free, at least ${mib(this.minFreeBytes)} needed)`);
    }
  }

  async save(info: RecordingInfo): Promise<void> {
    const target = path.join(this.dir, `${info.id}.json`);
    await writeFile(`${target}.tmp`, `${JSON.stringify(info, null, 2)}\n`);
    await rename(`${target}.tmp`, target);
  }

  /** Moves the finished file to its name and returns its size (0 when nothing was written). */
  async complete(id: string): Promise<number> {
    try {
      await rename(this.partOf(id), this.fileOf(id));
      return (await stat(this.fileOf(id))).size;
    } catch {
      return 0;
    }
  }

  async list(): Promise<RecordingInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const found = await Promise.all(
      names.filter((name) => name.endsWith('.json') && RECORDING_ID.test(name.slice(0, -5))).map((name) => this.read(name.slice(0, -5))),
    );
    return found.filter((info): info is RecordingInfo => info !== undefined).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  async get(id: string): Promise<RecordingInfo> {
    const info = RECORDING_ID.test(id) ? await this.read(id) : undefined;
    if (!info) throw new ConclaveError('NOT_FOUND', `No recording ${JSON.stringify(id).slice(0, 120)}`);
    return info;
  }

  /** A recording that never started: its description and whatever was written go. */
  async discard(id: string): Promise<void> {
    await rm(this.partOf(id), { force: true });
    await rm(path.join(this.dir, `${id}.json`), { force: true });
  }

  /**
   * After the server was killed outright: recordings it was writing are kept as far as they got
   * (failed, `serverShutdown`) instead of staying "recording" forever. Run once at start.
   */
  async recover(): Promise<number> {
    const stale = (await this.list()).filter((info) => info.status === 'recording');
    for (const info of stale) {
      const bytes = await this.complete(info.id);
      await this.save({ ...info, status: 'failed', endReason: 'serverShutdown', finishedAt: new Date().toISOString(), bytes });
    }
    return stale.length;
  }

  async remove(id: string): Promise<void> {
    const info = await this.get(id);
    if (info.status === 'recording') throw new ConclaveError('BAD_REQUEST', 'That recording is still running: stop it first');
    await rm(this.fileOf(id), { force: true });
    await rm(path.join(this.dir, `${id}.json`), { force: true });
  }

  /** A link that downloads one recording without the admin key, for a day: what hosts get. */
  downloadLink(id: string, now = Date.now()): string {
    const expires = now + DOWNLOAD_LINK_TTL_MS;
    return `${DOWNLOAD_PATH}/${encodeURIComponent(id)}?expires=${expires}&signature=${this.sign(id, expires)}`;
  }

  /** The file a download link names, if its signature holds and it has not expired. */
  async linked(id: string, expires: string, signature: string, now = Date.now()): Promise<{ file: string; info: RecordingInfo }> {
    const until = Number(expires);
    const expected = Buffer.from(this.sign(id, until));
    const given = Buffer.from(signature);
    if (!Number.isFinite(until) || until < now || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ConclaveError('NOT_AUTHORIZED', 'This download link is invalid or has expired; ask for the recording again');
    }
    const info = await this.get(id);
    if (info.status === 'recording') throw new ConclaveError('NOT_FOUND', 'That recording is not finished yet');
    return { file: this.fileOf(id), info };
  }

  private sign(id: string, expires: number): string {
    return createHmac('sha256', this.linkKey).update(`${id}\n${expires}`).digest('base64url');
  }

  private async read(id: string): Promise<RecordingInfo | undefined> {
    try {
      return JSON.parse(await readFile(path.join(this.dir, `${id}.json`), 'utf8')) as RecordingInfo;
    } catch {
      return undefined;
    }
  }
}
