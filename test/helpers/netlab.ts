// Over ~350 lines on purpose: the lab's parts (namespaces and links, the lock between parallel runs,
// the page probe that reads remote videos) each need the others' details.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { cameraEncodings } from '../../client/src/conference/media.js';
import type { ConsumerStats } from '../../client/src/conference/types.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, type ParticipantPage } from './browser.js';

/**
 * A network lab on this machine: people in network namespaces of their own, each joined by a veth
 * pair to one bridge in the root namespace, whose links can be capped (tc tbf) and made lossy
 * (nftables). The server stays in the test's process, in the root namespace, listening on the
 * bridge's address, so every namespace reaches it and so do browsers in the root namespace (Linux
 * delivers packets for any local address locally).
 *
 *   root namespace                                   namespace cnl<B>-<name>
 *   cnl<B>br  198.18.N.1/24  ── cnl<B>h<i> ══ veth ══ cnl<B>n<i>  198.18.N.<i+2>/24, default via .1
 *   (the server)                  ↑ tbf: downlink             ↑ tbf and nftables: uplink, loss
 *
 * Only addresses of 198.18.0.0/15 (RFC 2544, for benchmarking) and interfaces named cnl<B>… are
 * ever made or removed. <B> is a block of that range (one /24 each) claimed through a lock
 * directory holding the owner's pid, so test files running in parallel get labs of their own, and a
 * block whose owner died (a crashed run) is cleaned up by the next lab that comes across it.
 */

const IP = '/usr/sbin/ip';
const TC = '/usr/sbin/tc';
const NFT = '/usr/sbin/nft';
const LOCK_ROOT = '/run/conclave-netlab';
const BLOCKS = 512;
const PREFIX = 'cnl';
/** A lock directory without its pid file yet is being claimed; after this long it was abandoned. */
const CLAIM_GRACE_MS = 60_000;

export type Direction = 'down' | 'up' | 'both';

/** Why this process cannot build a lab, or undefined if it can try. Only a non-root run may skip. */
export function netlabUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces, tc and nftables need root (CI runs as root, where this runs and must pass)';
  return undefined;
}

export interface LabHost {
  name: string;
  /** The network namespace its processes run in. */
  namespace: string;
  /** Its address inside the namespace. */
  address: string;
  /** The veth end on the bridge (root namespace): its egress is this host's downlink. */
  outside: string;
  /** The veth end in the namespace: its egress is this host's uplink. */
  inside: string;
}

/**
 * One full-size Ethernet frame and a little: the smallest bucket tbf can pass every packet with.
 * A bucket of 4 KiB (tried before) let mediasoup's bandwidth probes through at the veth's line rate, and its estimate of a 500 kbit/s link jumped to
 * 1 350 kbit/s; a real 500 kbit/s link delivers each packet at 500 kbit/s (BENCHMARKS.md §6).
 */
export const SLOW_LINK_BURST_BYTES = 1600;

export interface CapOptions {
  /**
   * Bucket size in bytes: how much may pass at line rate (the veth's, many Gbit/s) at once. Default
   * SLOW_LINK_BURST_BYTES (or 20 ms at the rate, if more): a slow link, which never delivers faster
   * than its rate. A larger bucket models a shaper in front of a fast line (an ISP's policer),
   * which lets a short burst through at line speed.
   */
  burstBytes?: number;
  /** The longest a packet may wait in the queue before being dropped (default 200 ms): the link's buffer. */
  latencyMs?: number;
}

function run(command: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`netlab: ${command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function runSync(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  } catch {
    return '';
  }
}

const subnetOf = (block: number): string => `198.${18 + (block >> 8)}.${block & 255}`;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Namespaces and links of one block, as they exist now. */
function objectsOf(block: number | null): { namespaces: string[]; links: string[] } {
  const any = block === null ? '\\d+' : String(block);
  const nsPattern = new RegExp(`^${PREFIX}(${any})-[a-z0-9]+$`);
  const linkPattern = new RegExp(`^${PREFIX}(${any})(br|h\\d+)$`);
  const namespaces = runSync(IP, ['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => nsPattern.test(name));
  const links = runSync(IP, ['-o', 'link', 'show'])
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '')
    .filter((name) => linkPattern.test(name));
  return { namespaces, links };
}

/** Removes a block's namespaces (their veth ends go with them) and links: a crashed run's or our own. */
function removeObjects(objects: { namespaces: string[]; links: string[] }): void {
  for (const namespace of objects.namespaces) runSync(IP, ['netns', 'delete', namespace]);
  for (const link of objects.links) runSync(IP, ['link', 'delete', link]);
}

const blockOfName = (name: string): number => Number(new RegExp(`^${PREFIX}(\\d+)`).exec(name)?.[1]);

/** Whether the lock of a block belongs to nobody alive (its owner crashed or never finished claiming). */
function lockIsStale(lock: string): boolean {
  const pidFile = path.join(lock, 'pid');
  if (!existsSync(pidFile)) return Date.now() - statSync(lock).mtimeMs > CLAIM_GRACE_MS;
  return !isAlive(Number(readFileSync(pidFile, 'utf8')));
}

const lockOf = (block: number): string => path.join(LOCK_ROOT, String(block));

/**
 * Takes a block's lock: free, or left by an owner that died (taken over by renaming it away, which
 * only one of several labs trying at once wins). Whoever holds it may remove what is left of the
 * block, and nobody else ever removes anything: objects are only made under the lock.
 */
function tryLock(block: number): boolean {
  const lock = lockOf(block);
  try {
    mkdirSync(lock);
  } catch {
    try {
      if (!lockIsStale(lock)) return false;
      const tombstone = path.join(LOCK_ROOT, `.stale-${block}-${process.pid}-${Date.now()}`);
      renameSync(lock, tombstone);
      rmSync(tombstone, { recursive: true, force: true });
      mkdirSync(lock);
    } catch {
      // Another lab took it over or claimed it first.
      return false;
    }
  }
  writeFileSync(path.join(lock, 'pid'), String(process.pid));
  removeObjects(objectsOf(block));
  return true;
}

/** Cleans up after crashed runs: every block left with objects or a lock whose owner is dead. */
function sweepLeftovers(): void {
  mkdirSync(LOCK_ROOT, { recursive: true });
  const all = objectsOf(null);
  const blocks = new Set([
    ...[...all.namespaces, ...all.links].map(blockOfName),
    ...readdirSync(LOCK_ROOT)
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number),
  ]);
  for (const block of blocks) {
    if (tryLock(block)) rmSync(lockOf(block), { recursive: true, force: true });
  }
}

/** Subnets of 198.18.0.0/15 that something else on this machine uses (an address or a route). */
function subnetsInUse(): Set<string> {
  const text = `${runSync(IP, ['-4', '-o', 'addr', 'show'])}\n${runSync(IP, ['-4', 'route', 'show', 'table', 'all'])}`;
  return new Set([...text.matchAll(/\b(198\.1[89]\.\d+)\.\d+/g)].map((match) => match[1]!));
}

/** Claims a free block: its lock directory is made atomically, so two labs never share one. */
function claimBlock(): number {
  sweepLeftovers();
  const used = subnetsInUse();
  const start = (process.pid * 7) % BLOCKS;
  for (let offset = 0; offset < BLOCKS; offset++) {
    const block = (start + offset) % BLOCKS;
    if (!used.has(subnetOf(block)) && tryLock(block)) return block;
  }
  throw new Error('netlab: every block of 198.18.0.0/15 is in use');
}

export class NetLab {
  /** The bridge's address: where the server listens and every host's default gateway. */
  readonly gateway: string;
  readonly hosts: LabHost[] = [];
  private readonly bridge: string;
  private scratch: string | undefined;
  private destroyed = false;
  private readonly onExit = (): void => this.destroySync();

  private constructor(private readonly block: number) {
    this.gateway = `${subnetOf(block)}.1`;
    this.bridge = `${PREFIX}${block}br`;
  }

  /**
   * Claims a block and makes the bridge. Throws when that is impossible (the caller's test then
   * fails): check `netlabUnavailable()` first to skip where it cannot work.
   */
  static async create(): Promise<NetLab> {
    const unavailable = netlabUnavailable();
    if (unavailable) throw new Error(`netlab: ${unavailable}`);
    for (const tool of [IP, TC, NFT]) {
      if (!existsSync(tool)) throw new Error(`netlab: ${tool} is missing (Debian packages iproute2 and nftables)`);
    }
    const lab = new NetLab(claimBlock());
    process.once('exit', lab.onExit);
    try {
      await run(IP, ['link', 'add', lab.bridge, 'type', 'bridge']);
      await run(IP, ['addr', 'add', `${lab.gateway}/24`, 'dev', lab.bridge]);
      await run(IP, ['link', 'set', lab.bridge, 'up']);
      lab.scratch = await mkdtemp(path.join(os.tmpdir(), 'conclave-netlab-'));
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  /** A directory of the lab's own (scripts, clips), removed with it. */
  get workDir(): string {
    if (!this.scratch) throw new Error('netlab: the lab is closed');
    return this.scratch;
  }

  /** A new namespace on the bridge, with `lo` up and its default route through the gateway. */
  async addHost(name: string): Promise<LabHost> {
    if (!/^[a-z0-9]{1,16}$/.test(name)) throw new Error(`netlab: host names are 1–16 of a–z, 0–9 (${name})`);
    const index = this.hosts.length;
    if (index > 250) throw new Error('netlab: a lab holds at most 251 hosts');
    const host: LabHost = {
      name,
      namespace: `${PREFIX}${this.block}-${name}`,
      address: `${subnetOf(this.block)}.${index + 2}`,
      outside: `${PREFIX}${this.block}h${index}`,
      inside: `${PREFIX}${this.block}n${index}`,
    };
    this.hosts.push(host);
    await run(IP, ['netns', 'add', host.namespace]);
    await run(IP, ['link', 'add', host.outside, 'type', 'veth', 'peer', 'name', host.inside, 'netns', host.namespace]);
    await run(IP, ['link', 'set', host.outside, 'master', this.bridge, 'up']);
    const inside = (...args: string[]) => run(IP, ['-n', host.namespace, ...args]);
    await inside('link', 'set', 'lo', 'up');
    await inside('addr', 'add', `${host.address}/24`, 'dev', host.inside);
    await inside('link', 'set', host.inside, 'up');
    await inside('route', 'add', 'default', 'via', this.gateway);
    return host;
  }

  /**
   * Caps a host's link at `kbit` kbit/s with a token bucket: 'down' on the bridge side of its veth
   * (what reaches it), 'up' on its own side (what it sends), 'both'. Replaces any earlier cap.
   */
  async cap(host: LabHost, direction: Direction, kbit: number, options: CapOptions = {}): Promise<void> {
    const burst = options.burstBytes ?? Math.max(SLOW_LINK_BURST_BYTES, Math.round(((kbit * 1000) / 8) * 0.02));
    const latency = options.latencyMs ?? 200;
    for (const [namespace, device] of this.ends(host, direction)) {
      await run(TC, [...namespace, 'qdisc', 'replace', 'dev', device, 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', String(burst), 'latency', `${latency}ms`]);
    }
  }

  /** Lifts the caps of a host's link (both directions unless told). */
  async uncap(host: LabHost, direction: Direction = 'both'): Promise<void> {
    for (const [namespace, device] of this.ends(host, direction)) {
      const qdiscs = await run(TC, [...namespace, 'qdisc', 'show', 'dev', device]);
      if (/\btbf\b/.test(qdiscs)) await run(TC, [...namespace, 'qdisc', 'del', 'dev', device, 'root']);
    }
  }

  /**
   * Drops `percent` of the UDP packets (the media; signalling over TCP is spared) a host receives
   * ('down'), sends ('up') or both, at random, with an nftables table inside its namespace. 0 ends it.
   */
  async loss(host: LabHost, percent: number, direction: Direction = 'both'): Promise<void> {
    if (!(percent >= 0 && percent <= 100)) throw new Error(`netlab: loss must be 0–100 % (${percent})`);
    const hooks = direction === 'both' ? ['input', 'output'] : [direction === 'down' ? 'input' : 'output'];
    const drop = Math.round(percent * 100);
    const chains = hooks.flatMap((hook) => [
      `  chain ${hook} {`,
      `    type filter hook ${hook} priority 0; policy accept;`,
      // numgen's values are 0–9999, so "< 10000" is refused: 100 % drops every UDP packet outright.
      drop >= 10_000 ? '    meta l4proto udp drop' : `    meta l4proto udp numgen random mod 10000 < ${drop} drop`,
      '  }',
    ]);
    // Declaring the table first makes the delete succeed whether or not it existed.
    const script = ['table inet netlab', 'delete table inet netlab', ...(percent > 0 ? ['table inet netlab {', ...chains, '}'] : [])].join('\n');
    await run(IP, ['netns', 'exec', host.namespace, NFT, '-f', '-'], `${script}\n`);
  }

  /**
   * Drops every UDP packet a host receives and sends (a firewall that lets only TCP out), with the
   * same nftables table as `loss` (so `loss(host, 0)` lifts it too). Signalling and ICE over TCP pass.
   */
  async blockUdp(host: LabHost): Promise<void> {
    const chains = ['input', 'output'].flatMap((hook) => [
      `  chain ${hook} {`,
      `    type filter hook ${hook} priority 0; policy accept;`,
      '    meta l4proto udp drop',
      '  }',
    ]);
    const script = ['table inet netlab', 'delete table inet netlab', 'table inet netlab {', ...chains, '}'].join('\n');
    await run(IP, ['netns', 'exec', host.namespace, NFT, '-f', '-'], `${script}\n`);
  }

  /** Arguments for a Chromium that opens `origin` (http on a lab address) as a secure context, so getUserMedia works. */
  chromiumArgs(origin: string, videoFile?: string): string[] {
    return [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${origin}`, ...(videoFile ? [`--use-file-for-fake-video-capture=${videoFile}`] : [])];
  }

  /**
   * Debian's Chromium inside a host's namespace (or, with null, in the root namespace), for pages of
   * `origin`. Playwright talks to it over inherited pipes, which `ip netns exec` keeps.
   */
  async launchChromium(host: LabHost | null, origin: string, videoFile?: string): Promise<Browser> {
    let executablePath = CHROMIUM_PATH;
    if (host) {
      executablePath = path.join(this.workDir, `chromium-${host.name}.sh`);
      await writeFile(executablePath, `#!/bin/sh\nexec ${IP} netns exec ${host.namespace} ${CHROMIUM_PATH} "$@"\n`);
      await chmod(executablePath, 0o755);
    }
    return chromium.launch({ executablePath, args: this.chromiumArgs(origin, videoFile), headless: true });
  }

  /** Removes everything the lab made. Safe to call twice, and after a failed create. */
  async destroy(): Promise<void> {
    if (this.scratch) await rm(this.scratch, { recursive: true, force: true });
    this.scratch = undefined;
    this.destroySync();
  }

  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off('exit', this.onExit);
    if (this.scratch) rmSync(this.scratch, { recursive: true, force: true });
    removeObjects(objectsOf(this.block));
    rmSync(lockOf(this.block), { recursive: true, force: true });
  }

  /** The [namespace arguments for tc, device] whose egress carries a direction of a host's link. */
  private ends(host: LabHost, direction: Direction): [string[], string][] {
    const down: [string[], string] = [[], host.outside];
    const up: [string[], string] = [['-n', host.namespace], host.inside];
    return direction === 'down' ? [down] : direction === 'up' ? [up] : [down, up];
  }
}

/**
 * Writes a 640×360, 24 fps camera clip (Y4M, a 2 s loop) for `--use-file-for-fake-video-capture`:
 * a panning textured pattern with a patch of fresh noise wandering over it, so every simulcast
 * layer has detail and motion to encode. 640×360 as in the measurements; three pages
 * encoding Chromium's own 1280×720 fake camera in three layers each were more than two busy cores
 * kept at full frame rate. 24 fps rather than a webcam's 30 for the same reason; a 20 fps clip
 * arrived at 16–17 fps on clean links of a busy machine, too close to the 15 fps the tests ask for.
 */
export async function writeCameraClip(file: string, { width = 640, height = 360, fps = 24, seconds = 2 } = {}): Promise<string> {
  const frames = fps * seconds;
  const lumaSize = width * height;
  const chromaSize = (width / 2) * (height / 2);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`);
  const frameHeader = Buffer.from('FRAME\n');
  const parts: Buffer[] = [header];
  let seed = 0x2545f491;
  const random = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const texture = new Uint8Array(lumaSize);
  for (let i = 0; i < lumaSize; i++) texture[i] = Math.floor(random() * 48);
  const patch = { width: 128, height: 96 };
  for (let t = 0; t < frames; t++) {
    const frame = Buffer.alloc(lumaSize + 2 * chromaSize);
    const shift = t * 3;
    const phase = (2 * Math.PI * t) / frames;
    const patchX = Math.round((width - patch.width) * (0.5 + 0.5 * Math.sin(phase)));
    const patchY = Math.round((height - patch.height) * (0.5 + 0.5 * Math.sin(2 * phase)));
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inPatch = x >= patchX && x < patchX + patch.width && y >= patchY && y < patchY + patch.height;
        const base = 104 + 60 * Math.sin((x + shift) / 23) * Math.cos((y - shift / 2) / 17);
        const grain = inPatch ? random() * 96 : texture[y * width + ((x + shift) % width)]!;
        frame[y * width + x] = Math.max(0, Math.min(255, Math.round(base + grain - 24)));
      }
    }
    for (let y = 0; y < height / 2; y++) {
      for (let x = 0; x < width / 2; x++) {
        frame[lumaSize + y * (width / 2) + x] = 128 + Math.round(40 * Math.sin((x + t) / 31));
        frame[lumaSize + chromaSize + y * (width / 2) + x] = 128 + Math.round(40 * Math.cos((y - t) / 19));
      }
    }
    parts.push(frameHeader, frame);
  }
  await writeFile(file, Buffer.concat(parts));
  return file;
}

// ---------------------------------------------------------------------------------------------
// What people see and hear, read from their pages.

/** Frames a remote camera's <video> presented, and its size, counted in the page. */
interface VideoCounter {
  frames: number;
  width: number;
  height: number;
  /** Times the presented frame size changed (a spatial layer switch, or the sender rescaling). */
  sizeChanges: number;
}

interface NetlabProbe {
  peerConnections: RTCPeerConnection[];
  videos: Record<string, VideoCounter>;
}

declare global {
  interface Window {
    __netlab?: NetlabProbe;
  }
}

/**
 * Runs in the page before the app (an init script: it must not close over anything). Keeps every
 * RTCPeerConnection (the app's audio statistics come from there), and counts the frames of every
 * remote camera <video> with requestVideoFrameCallback, attaching to new tiles as they appear.
 */
function installProbe(): void {
  const probe: NetlabProbe = { peerConnections: [], videos: {} };
  window.__netlab = probe;
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      probe.peerConnections.push(this);
    }
  };
  const watched = new WeakSet<HTMLVideoElement>();
  const attach = (): void => {
    for (const video of document.querySelectorAll<HTMLVideoElement>('[data-kind="camera"]:not([data-local]) video')) {
      const peerId = video.closest<HTMLElement>('[data-peer-id]')?.dataset.peerId;
      if (!peerId || watched.has(video)) continue;
      watched.add(video);
      const counter = (probe.videos[peerId] ??= { frames: 0, width: 0, height: 0, sizeChanges: 0 });
      const onFrame = (_now: number, frame: VideoFrameCallbackMetadata): void => {
        counter.frames++;
        if (counter.height > 0 && (frame.width !== counter.width || frame.height !== counter.height)) counter.sizeChanges++;
        counter.width = frame.width;
        counter.height = frame.height;
        if (video.isConnected) video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }
  };
  setInterval(attach, 250);
}

export interface SeenVideo extends VideoCounter, Pick<ConsumerStats, 'spatialLayer' | 'temporalLayer' | 'preferredSpatialLayer'> {
  /** Whose camera: someone who rejoins comes back under a new id, with counters from zero. */
  peerId: string;
}

export interface HeardAudio {
  peerId: string;
  packetsReceived: number;
  totalSamplesReceived: number;
  /** Samples the receiver made up because packets were missing or late. */
  concealedSamples: number;
}

/** One reading of a page: per remote participant (by display name), its camera as shown and its microphone as received. */
export interface Sight {
  at: number;
  video: Record<string, SeenVideo>;
  audio: Record<string, HeardAudio>;
}

export interface LabParticipant extends ParticipantPage {
  id: string;
  look(): Promise<Sight>;
}

/** Opens the app as a new person (own browser context) with the lab's probe, and waits until joined. */
export async function openLabParticipant(
  browser: Browser,
  baseUrl: string,
  room: string,
  name: string,
  options: { query?: Record<string, string>; viewport?: { width: number; height: number } } = {},
): Promise<LabParticipant> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 720 } });
  await context.addInitScript(installProbe);
  const page = await context.newPage();
  const loadedAt = Date.now();
  await page.goto(`${baseUrl}/?${new URLSearchParams({ room, name, ...options.query }).toString()}`, { timeout: 90_000 });
  await page.waitForFunction(() => window.conclave !== undefined, undefined, { timeout: 60_000 });
  await page.evaluate(() => window.conclave!.ready);
  const id = await page.evaluate(() => window.conclave!.state().self?.id);
  if (!id) throw new Error(`${name} has not joined`);
  return {
    name,
    id,
    context,
    page,
    loadedAt,
    state: () => page.evaluate(() => window.conclave!.state()),
    stats: () => page.evaluate(() => window.conclave!.stats()),
    call: async (method, ...args) => {
      await page.evaluate(([m, a]) => (window.conclave![m] as (...x: unknown[]) => Promise<void>)(...a), [method, args] as const);
    },
    close: () => context.close(),
    // Each lab participant's browser lives in its own namespace for one visit: nothing to reuse.
    release: () => context.close(),
    look: async () => {
      const at = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name}'s page did not answer within ${LOOK_TIMEOUT_MS / 1000} s`)), LOOK_TIMEOUT_MS);
      });
      try {
        return { at, ...(await Promise.race([page.evaluate(readPage), timeout])) };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** A page busy for longer than this is stuck (a frozen renderer), not slow. */
const LOOK_TIMEOUT_MS = 30_000;

/** In the page: the probe's counters, the layers the client reports, and audio inbound-rtp by peer. */
async function readPage(): Promise<Omit<Sight, 'at'>> {
  const probe = window.__netlab!;
  const automation = window.conclave!;
  const [stats, reports] = await Promise.all([
    automation.stats(),
    Promise.all(probe.peerConnections.filter((pc) => pc.connectionState !== 'closed').map((pc) => pc.getStats())),
  ]);
  // By name, so that someone who rejoins (a new peer id) is still the same person; a name seen
  // twice is someone reconnecting next to their new self, and the live one counts.
  const names = new Map<string, string>();
  for (const participant of automation.state().participants) {
    if (!participant.reconnecting || !names.has(participant.id)) names.set(participant.id, participant.displayName);
  }
  const video: Record<string, SeenVideo> = {};
  for (const [peerId, counter] of Object.entries(probe.videos)) {
    const name = names.get(peerId);
    // Someone who left keeps a counter, but is not in the room any more.
    if (name === undefined) continue;
    const consumer = stats.consumers.find((candidate) => candidate.peerId === peerId && candidate.source === 'camera');
    video[name] = {
      ...counter,
      peerId,
      spatialLayer: consumer?.spatialLayer ?? null,
      temporalLayer: consumer?.temporalLayer ?? null,
      preferredSpatialLayer: consumer?.preferredSpatialLayer ?? null,
    };
  }
  // mediasoup-client gives each received track its consumer's id.
  const peerOfConsumer = new Map(stats.consumers.map((consumer) => [consumer.consumerId, consumer.peerId]));
  const audio: Record<string, HeardAudio> = {};
  for (const report of reports) {
    report.forEach((entry: RTCInboundRtpStreamStats & { trackIdentifier?: string }) => {
      if (entry.type !== 'inbound-rtp' || entry.kind !== 'audio') return;
      const peerId = peerOfConsumer.get(entry.trackIdentifier ?? '');
      const name = peerId === undefined ? undefined : names.get(peerId);
      if (peerId === undefined || name === undefined) return;
      audio[name] = {
        peerId,
        packetsReceived: entry.packetsReceived ?? 0,
        totalSamplesReceived: entry.totalSamplesReceived ?? 0,
        concealedSamples: entry.concealedSamples ?? 0,
      };
    });
  }
  return { video, audio };
}

/** A camera's top temporal layer (L1T3: 0, 1, 2), which carries its full frame rate. */
export const TOP_TEMPORAL_LAYER = Number(/T(\d)/.exec(cameraEncodings({})[0]?.scalabilityMode ?? 'T1')?.[1] ?? 1) - 1;

/** Whether a camera arrives as its tile asks: the spatial layer the client wants, at full frame rate. */
export function atFullQuality(video: SeenVideo | undefined): video is SeenVideo {
  return (
    video !== undefined &&
    video.height > 0 &&
    video.preferredSpatialLayer !== null &&
    video.spatialLayer === video.preferredSpatialLayer &&
    video.temporalLayer === TOP_TEMPORAL_LAYER
  );
}

/** What a page's camera sends, per simulcast layer (rid): counters from its outbound-rtp stats. */
export interface SentLayer {
  bytesSent: number;
  framesEncoded: number;
  width: number;
  height: number;
  /** Why the browser sends less than asked now ('cpu', 'bandwidth', 'none'), and seconds spent so per reason. */
  limitation: string;
  limitedSeconds: Record<string, number>;
}

/** The layers a participant's camera sends now; two readings a while apart give bitrates. */
export async function sentLayers(participant: LabParticipant): Promise<Record<string, SentLayer>> {
  return participant.page.evaluate(async () => {
    const layers: Record<string, SentLayer> = {};
    for (const pc of window.__netlab!.peerConnections.filter((candidate) => candidate.connectionState !== 'closed')) {
      (await pc.getStats()).forEach((entry: RTCOutboundRtpStreamStats) => {
        if (entry.type !== 'outbound-rtp' || entry.kind !== 'video' || !entry.rid) return;
        layers[entry.rid] = {
          bytesSent: entry.bytesSent ?? 0,
          framesEncoded: entry.framesEncoded ?? 0,
          width: entry.frameWidth ?? 0,
          height: entry.frameHeight ?? 0,
          limitation: entry.qualityLimitationReason ?? 'none',
          limitedSeconds: Object.fromEntries(Object.entries(entry.qualityLimitationDurations ?? {}).map(([reason, seconds]) => [reason, Math.round(seconds)])),
        };
      });
    }
    return layers;
  });
}

/** What one remote camera looked like over a window. */
export interface VideoOverWindow {
  /** Frames presented per second over the whole window. */
  fps: number;
  /** The median of the per-second frame rates (what a bench reports; robust to one stall). */
  medianFps: number;
  /** The lowest one-second frame rate: a stall shows here. */
  minFps: number;
  /** The frame size shown most of the window, and at its end. */
  width: number;
  height: number;
  sizeChanges: number;
  /** Changes of the spatial and temporal layer the server reports forwarding, sampled each second. */
  spatialSwitches: number;
  temporalSwitches: number;
  /**
   * Samples in which the forwarded layer (spatial, temporal) changed: one switch of resolution is
   * one, though mediasoup reports the new layer's temporal layer climbing within it.
   */
  layerSwitches: number;
  spatialLayer: number | null;
  temporalLayer: number | null;
  preferredSpatialLayer: number | null;
}

/** What one remote microphone sounded like over a window. */
export interface AudioOverWindow {
  packets: number;
  /** One-second samples in which no packet arrived. */
  silentSeconds: number;
  /** Share of the samples played out that were concealment, not received audio. */
  concealment: number;
}

export interface WindowReading {
  seconds: number;
  video: Record<string, VideoOverWindow>;
  audio: Record<string, AudioOverWindow>;
}

const median = (values: number[]): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * Watches a page for `seconds`, reading it about once a second (a measurement window, not a wait
 * for something to happen), and sums up what it showed of each remote camera and microphone.
 */
export async function watch(participant: LabParticipant, seconds: number): Promise<WindowReading> {
  const sights: Sight[] = [await participant.look()];
  const end = sights[0]!.at + seconds * 1000;
  // No reading less than half a second after the one before: Chromium caches getStats for about
  // 50 ms and a voice sends every 20 ms, so a last reading a few ms after the one before showed a
  // voice that had not stopped as a silent second.
  while (end - Date.now() >= 500) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, end - Date.now())));
    sights.push(await participant.look());
  }
  return summarise(sights);
}

export function summarise(sights: Sight[]): WindowReading {
  const first = sights[0]!;
  const last = sights.at(-1)!;
  const seconds = (last.at - first.at) / 1000;
  /** How much a counter rose between two readings; one of a rejoined peer started again from zero. */
  const rise = <T extends { peerId: string }>(before: T | undefined, now: T, pick: (reading: T) => number): number =>
    before && before.peerId === now.peerId ? Math.max(0, pick(now) - pick(before)) : pick(now);
  const video: Record<string, VideoOverWindow> = {};
  for (const [name, end] of Object.entries(last.video)) {
    const perSecond: number[] = [];
    const sizes = new Map<string, number>();
    let frames = 0;
    let sizeChanges = 0;
    let spatialSwitches = 0;
    let temporalSwitches = 0;
    let layerSwitches = 0;
    for (let i = 1; i < sights.length; i++) {
      const before = sights[i - 1]!.video[name];
      const now = sights[i]!.video[name];
      if (!now) continue;
      const shown = rise(before, now, (reading) => reading.frames);
      frames += shown;
      sizeChanges += rise(before, now, (reading) => reading.sizeChanges);
      perSecond.push((shown * 1000) / Math.max(1, sights[i]!.at - sights[i - 1]!.at));
      const size = `${now.width}x${now.height}`;
      sizes.set(size, (sizes.get(size) ?? 0) + 1);
      if (before && now.spatialLayer !== before.spatialLayer) spatialSwitches++;
      if (before && now.temporalLayer !== before.temporalLayer) temporalSwitches++;
      if (before && (now.spatialLayer !== before.spatialLayer || now.temporalLayer !== before.temporalLayer)) layerSwitches++;
    }
    const [mostShown] = [...sizes.entries()].sort((a, b) => b[1] - a[1])[0] ?? [`${end.width}x${end.height}`];
    const [width, height] = mostShown.split('x').map(Number) as [number, number];
    video[name] = {
      fps: seconds > 0 ? frames / seconds : 0,
      medianFps: median(perSecond),
      minFps: perSecond.length ? Math.min(...perSecond) : 0,
      width,
      height,
      sizeChanges,
      spatialSwitches,
      temporalSwitches,
      layerSwitches,
      spatialLayer: end.spatialLayer,
      temporalLayer: end.temporalLayer,
      preferredSpatialLayer: end.preferredSpatialLayer,
    };
  }
  const audio: Record<string, AudioOverWindow> = {};
  for (const name of Object.keys(last.audio)) {
    let packets = 0;
    let samples = 0;
    let concealed = 0;
    let silentSeconds = 0;
    for (let i = 1; i < sights.length; i++) {
      const before = sights[i - 1]!.audio[name];
      const now = sights[i]!.audio[name];
      const arrived = now ? rise(before, now, (reading) => reading.packetsReceived) : 0;
      if (arrived === 0) silentSeconds++;
      if (!now) continue;
      packets += arrived;
      samples += rise(before, now, (reading) => reading.totalSamplesReceived);
      concealed += rise(before, now, (reading) => reading.concealedSamples);
    }
    audio[name] = { packets, silentSeconds, concealment: samples > 0 ? concealed / samples : 1 };
  }
  return { seconds, video, audio };
}

/** One line per remote camera and microphone, for logs: `Ben camera 19.8 fps (…) 320x180 S1T2 want S1, …`. */
export function describeReading(reading: WindowReading): string {
  const videos = Object.entries(reading.video).map(
    ([name, v]) =>
      `${name} camera ${v.fps.toFixed(1)} fps (median ${v.medianFps.toFixed(1)}, min ${v.minFps.toFixed(1)}) ${v.width}x${v.height} ` +
      `S${v.spatialLayer ?? '-'}T${v.temporalLayer ?? '-'} want S${v.preferredSpatialLayer ?? '-'}, ` +
      `switches: size ${v.sizeChanges}, layer ${v.layerSwitches} (spatial ${v.spatialSwitches}, temporal ${v.temporalSwitches})`,
  );
  const audios = Object.entries(reading.audio).map(
    ([name, a]) => `${name} mic ${a.packets} packets, ${a.silentSeconds} silent s, concealed ${(a.concealment * 100).toFixed(1)} %`,
  );
  return [...videos, ...audios].join('; ');
}
