#!/usr/bin/env node
// Over ~350 lines on purpose: it runs before any package is installed, so the whole provisioning
// (below) lives in one file that imports only Node's own modules.
//
// Provides a working `mediasoup-worker` binary without mediasoup's own postinstall (disabled for
// this project, see package.json "allowScripts"), and works fully offline on Debian.
//
// Order of attempts:
//   0. MEDIASOUP_WORKER_BIN pointing to an existing file: returned as-is.
//   1. Cache hit: <root>/.cache/mediasoup-worker/<version>-<arch>-<patchHash>/mediasoup-worker
//   2. mediasoup's official prebuilt binary from GitHub releases (the URL node_modules/mediasoup/npm-scripts.mjs
//      uses), with a short timeout.
//   3. Offline build from node_modules/mediasoup/worker + the patch(es) in scripts/mediasoup-worker/ against
//      Debian system packages (meson + ninja, ~10 min on 2 cores).
// Steps 2 and 3 run under a cross-process lock, so two bootstraps never build at once. The result is also
// copied to <root>/node_modules/mediasoup/worker/out/Release/mediasoup-worker, where mediasoup looks by default.
//
// Only node: builtins: this may run before `npm ci` completed.
//
// Usage: node scripts/mediasoup-worker.mjs   (prints the binary path)
//    or: import { ensureMediasoupWorker } from './scripts/mediasoup-worker.mjs'
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianPackages } from './debian.mjs';

/** @typedef {(message: string) => void} Say */
/** @typedef {{ version: string, repository?: { url?: string } }} MediasoupPackage */

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const PATCH_DIR = path.join(SCRIPT_DIR, 'mediasoup-worker');
const BIN_NAME = 'mediasoup-worker';

/** What the offline build needs (see the patch header); tools by the file they install, libraries through dpkg. */
const BUILD_PACKAGES = [
  { pkg: 'meson', bin: '/usr/bin/meson' },
  { pkg: 'ninja-build', bin: '/usr/bin/ninja' },
  { pkg: 'libssl-dev' },
  { pkg: 'libuv1-dev' },
  { pkg: 'libsrtp2-dev' },
  { pkg: 'libabsl-dev' },
  { pkg: 'libflatbuffers-dev' },
  { pkg: 'flatbuffers-compiler', bin: '/usr/bin/flatc' },
  { pkg: 'pkg-config', bin: '/usr/bin/pkg-config' },
  { pkg: 'g++', bin: '/usr/bin/g++' },
  { pkg: 'patch', bin: '/usr/bin/patch' },
];

// Prebuilt download: time allowed until the response headers arrive (DNS errors fail at once), then for
// the body (a few MB) once the server answered.
const DOWNLOAD_HEADERS_TIMEOUT_MS = 15_000;
const DOWNLOAD_BODY_TIMEOUT_MS = 60_000;

/**
 * Ensures a working mediasoup-worker binary exists and returns its absolute path (the cached copy, or
 * MEDIASOUP_WORKER_BIN as-is). It is also copied to <root>/node_modules/mediasoup/worker/out/Release/.
 * @param {{ root?: string, log?: Say }} [options]
 * @returns {Promise<string>}
 */
export async function ensureMediasoupWorker({ root = path.resolve(SCRIPT_DIR, '..'), log = console.log } = {}) {
  root = path.resolve(root);
  /** @type {Say} */
  const say = (message) => log(`[mediasoup-worker] ${message}`);
  const start = Date.now();

  const envBin = process.env.MEDIASOUP_WORKER_BIN;
  if (envBin) {
    if (fs.existsSync(envBin)) {
      say(`using MEDIASOUP_WORKER_BIN=${envBin}`);
      return path.resolve(envBin);
    }
    say(`MEDIASOUP_WORKER_BIN=${envBin} does not exist, ignoring it`);
  }

  const mediasoupDir = path.join(root, 'node_modules', 'mediasoup');
  const pkg = readMediasoupPackageJson(mediasoupDir);
  const patches = listPatches();
  const key = `${pkg.version}-${process.arch}-${hashPatches(patches)}`;
  const cacheRoot = path.join(root, '.cache', 'mediasoup-worker');
  const cacheDir = path.join(cacheRoot, key);
  const cachedBin = path.join(cacheDir, BIN_NAME);
  const defaultBin = path.join(mediasoupDir, 'worker', 'out', 'Release', BIN_NAME);

  if (fs.existsSync(cachedBin) && checkWorkerRuns(cachedBin).ok) {
    installCopy(cachedBin, defaultBin, say);
    say(`cache hit ${cachedBin} (${elapsed(start)})`);
    return cachedBin;
  }

  fs.mkdirSync(cacheRoot, { recursive: true });
  const release = await acquireLock(path.join(cacheRoot, `${key}.lock`), say);
  try {
    // Another process may have produced it while this one waited for the lock.
    if (fs.existsSync(cachedBin) && checkWorkerRuns(cachedBin).ok) {
      say(`cache filled by another process: ${cachedBin}`);
    } else {
      fs.mkdirSync(cacheDir, { recursive: true });
      const downloaded = await tryDownloadPrebuilt(pkg, cacheDir, cachedBin, say);
      if (!downloaded) await buildOffline({ mediasoupDir, version: pkg.version, patches, cacheRoot, cacheDir, cachedBin, key, say });
    }
  } finally {
    release();
  }

  installCopy(cachedBin, defaultBin, say);
  say(`ready: ${cachedBin} (total ${elapsed(start)})`);
  return cachedBin;
}

/** @param {string} mediasoupDir @returns {MediasoupPackage} */
function readMediasoupPackageJson(mediasoupDir) {
  const pkgPath = path.join(mediasoupDir, 'package.json');
  if (!fs.existsSync(pkgPath)) throw new Error(`mediasoup is not installed (${pkgPath} missing): run \`npm ci\` first`);
  /** @type {unknown} */
  const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
  if (typeof pkg !== 'object' || pkg === null || !('version' in pkg) || typeof pkg.version !== 'string') throw new Error(`${pkgPath} has no version`);
  return /** @type {MediasoupPackage} */ (pkg);
}

/** @returns {string[]} the patches the offline build applies, in order */
function listPatches() {
  if (!fs.existsSync(PATCH_DIR)) return [];
  return fs
    .readdirSync(PATCH_DIR)
    .filter((name) => name.endsWith('.patch'))
    .sort()
    .map((name) => path.join(PATCH_DIR, name));
}

/** @param {string[]} patches */
function hashPatches(patches) {
  const hash = createHash('sha256');
  for (const file of patches) hash.update(fs.readFileSync(file));
  return hash.digest('hex').slice(0, 12);
}

/** @param {number} since a Date.now() */
function elapsed(since) {
  const ms = Date.now() - since;
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** @param {unknown} error */
function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Checks that the binary starts. mediasoup-worker's main() first checks the MEDIASOUP_VERSION env var;
 * without it, it prints "you don't seem to be my real father!" and exits with the custom code 41 (there is
 * no --version flag: any argv takes the same path). So exit code 41 under an empty env proves it loads
 * (shared libraries resolve) and runs, without touching any channel fd; a missing library gives 127.
 * mediasoup's npm-scripts.mjs checks its prebuilt binaries the same way.
 * @param {string} bin
 * @returns {{ ok: true } | { ok: false, reason: string }}
 */
function checkWorkerRuns(bin) {
  const result = spawnSync(bin, [], { env: {}, stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000, encoding: 'utf8' });
  if (result.status === 41) return { ok: true };
  const why = result.error ? result.error.message : `exit status ${result.status}${result.signal ? ` signal ${result.signal}` : ''}`;
  return { ok: false, reason: `${why} ${(result.stderr || '').trim()}`.trim() };
}

/** Copies src to dest (atomically, through a rename) unless it is identical already. @param {string} src @param {string} dest @param {Say} say */
function installCopy(src, dest, say) {
  const content = fs.readFileSync(src);
  if (fs.existsSync(dest) && fs.readFileSync(dest).equals(content)) return;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content, { mode: 0o755 });
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, dest);
  say(`copied to ${dest}`);
}

/** @param {unknown} error @returns {string | undefined} a Node error's code, e.g. 'EEXIST' */
function codeOf(error) {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/**
 * A cross-process lock (exclusive create) that detects a holder that died.
 * @param {string} lockPath
 * @param {Say} say
 * @returns {Promise<() => void>} releases the lock
 */
async function acquireLock(lockPath, say) {
  let saidWaiting = false;
  for (;;) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      const release = () => {
        process.off('exit', release);
        fs.rmSync(lockPath, { force: true });
      };
      // Also released when the process exits abruptly (process.exit()).
      process.on('exit', release);
      return release;
    } catch (error) {
      if (codeOf(error) !== 'EEXIST') throw error;
    }
    const holder = Number(fs.readFileSync(lockPath, 'utf8').trim());
    if (!holder || !pidAlive(holder)) {
      fs.rmSync(lockPath, { force: true });
      continue;
    }
    if (!saidWaiting) {
      say(`waiting for another build/download (pid ${holder}, lock ${lockPath})`);
      saidWaiting = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** @param {number} pid */
function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return codeOf(error) === 'EPERM';
  }
}

/**
 * The URL of mediasoup's npm-scripts.mjs (getWorkerPrebuildTarName(), downloadPrebuiltWorker()), including
 * MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL.
 * @param {MediasoupPackage} pkg
 */
function prebuiltUrl(pkg) {
  const repository = (pkg.repository?.url ?? 'git+https://github.com/versatica/mediasoup.git').replace(/^git\+/, '').replace(/\.git$/, '');
  const releaseBase = process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL || `${repository}/releases/download`;
  let name = `mediasoup-worker-${pkg.version}-${os.platform()}-${os.arch()}`;
  if (os.platform() === 'linux') name += `-kernel${Number(os.release().split('.')[0])}`;
  return `${releaseBase}/${pkg.version}/${name}.tgz`;
}

/**
 * @param {MediasoupPackage} pkg
 * @param {string} cacheDir
 * @param {string} cachedBin
 * @param {Say} say
 * @returns {Promise<boolean>} whether cachedBin now holds a prebuilt binary that runs here
 */
async function tryDownloadPrebuilt(pkg, cacheDir, cachedBin, say) {
  if (process.env.MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD) {
    say('MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD set, not downloading the prebuilt binary');
    return false;
  }
  const url = prebuiltUrl(pkg);
  const start = Date.now();
  const tgz = path.join(cacheDir, `prebuilt-${process.pid}.tgz`);
  const extractDir = path.join(cacheDir, `prebuilt-${process.pid}`);
  say(`downloading official prebuilt binary ${url}`);
  try {
    const controller = new AbortController();
    let timer = setTimeout(() => controller.abort(), DOWNLOAD_HEADERS_TIMEOUT_MS);
    /** @type {Buffer} */
    let body;
    try {
      const response = await fetch(url, { signal: controller.signal, redirect: 'follow' });
      if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), DOWNLOAD_BODY_TIMEOUT_MS);
      body = Buffer.from(await response.arrayBuffer());
    } finally {
      clearTimeout(timer);
    }
    fs.writeFileSync(tgz, body);
    fs.rmSync(extractDir, { recursive: true, force: true });
    fs.mkdirSync(extractDir, { recursive: true });
    const tar = spawnSync('tar', ['-xzf', tgz, '-C', extractDir], { encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.error?.message ?? tar.stderr.trim()}`);
    const extracted = path.join(extractDir, BIN_NAME);
    if (!fs.existsSync(extracted)) throw new Error(`archive has no ${BIN_NAME}`);
    fs.chmodSync(extracted, 0o755);
    const check = checkWorkerRuns(extracted);
    if (!check.ok) throw new Error(`prebuilt binary does not run on this host: ${check.reason}`);
    fs.renameSync(extracted, cachedBin);
    fs.writeFileSync(path.join(cacheDir, 'origin.txt'), `prebuilt ${url}\n`);
    say(`prebuilt binary OK (${elapsed(start)})`);
    return true;
  } catch (error) {
    const cause = error instanceof Error && error.cause ? ` (${codeOf(error.cause) ?? messageOf(error.cause)})` : '';
    const reason = error instanceof Error && error.name === 'AbortError' ? 'timed out' : `${messageOf(error)}${cause}`;
    say(`prebuilt download unavailable: ${reason} (${elapsed(start)}); falling back to offline build`);
    return false;
  } finally {
    fs.rmSync(tgz, { force: true });
    fs.rmSync(extractDir, { recursive: true, force: true });
  }
}

/** @param {string} text @param {number} lines */
function tail(text, lines) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Builds the worker from mediasoup's sources against Debian's libraries, into cachedBin.
 * @param {{ mediasoupDir: string, version: string, patches: string[], cacheRoot: string, cacheDir: string, cachedBin: string, key: string, say: Say }} options
 */
async function buildOffline({ mediasoupDir, version, patches, cacheRoot, cacheDir, cachedBin, key, say }) {
  const start = Date.now();
  if (os.platform() !== 'linux') {
    throw new Error(
      `no prebuilt mediasoup-worker could be downloaded and the offline build only supports Linux (Debian). ` +
        `Set MEDIASOUP_WORKER_BIN to a mediasoup-worker ${version} binary.`,
    );
  }
  try {
    if (ensureDebianPackages(BUILD_PACKAGES, say) === 'skipped') say(`Debian build dependencies present (${elapsed(start)})`);
  } catch (error) {
    throw new Error(`cannot build mediasoup-worker offline: ${messageOf(error)}`, { cause: error });
  }

  const buildDir = path.join(cacheRoot, `build-${key}`);
  const logPath = path.join(cacheDir, 'build.log');
  const srcWorker = path.join(mediasoupDir, 'worker');
  const logFd = fs.openSync(logPath, 'w');
  // Every command's output goes to build.log, so that a failure can be diagnosed.
  /** @param {string} step @param {string} command @param {string[]} args @param {(line: string) => void} [onLine] */
  const run = async (step, command, args, onLine) => {
    const stepStart = Date.now();
    fs.writeSync(logFd, `\n$ ${command} ${args.join(' ')}\n`);
    await runLogged(command, args, { cwd: buildDir, logFd, onLine });
    say(`${step} done (${elapsed(stepStart)})`);
  };

  say(`offline build in ${buildDir} (log: ${logPath})`);
  try {
    fs.rmSync(buildDir, { recursive: true, force: true });
    fs.cpSync(srcWorker, buildDir, {
      recursive: true,
      // Skips build outputs and downloads the package may contain.
      filter: (src) => !/^(out|prebuild|pip_invoke|subprojects[\\/]packagecache)($|[\\/])/.test(path.relative(srcWorker, src)),
    });
    for (const patchFile of patches) await run(`patch ${path.basename(patchFile)}`, 'patch', ['-p1', '--forward', '--batch', '-i', patchFile]);
    await run('meson setup', 'meson', ['setup', 'out', '--buildtype=release', '-Db_ndebug=true', '--wrap-mode=nofallback']);
    // mediasoup 3.27 orders the generation of the FBS/*.h headers itself.
    say('compiling mediasoup-worker with ninja (takes a few minutes; progress every ~10%)');
    await run('ninja mediasoup-worker', 'ninja', ['-C', 'out', BIN_NAME], progressReporter(say, Date.now()));

    const tmp = `${cachedBin}.tmp-${process.pid}`;
    fs.copyFileSync(path.join(buildDir, 'out', BIN_NAME), tmp);
    fs.chmodSync(tmp, 0o755);
    const check = checkWorkerRuns(tmp);
    if (!check.ok) {
      fs.rmSync(tmp, { force: true });
      throw new Error(`built binary does not run: ${check.reason}`);
    }
    fs.renameSync(tmp, cachedBin);
    fs.writeFileSync(path.join(cacheDir, 'origin.txt'), `offline build (${patches.map((patch) => path.basename(patch)).join(', ')})\n`);
    fs.closeSync(logFd);
    fs.rmSync(buildDir, { recursive: true, force: true });
    say(`offline build OK (${elapsed(start)})`);
  } catch (error) {
    try {
      fs.closeSync(logFd);
    } catch {
      // Closed already.
    }
    const logTail = fs.existsSync(logPath) ? tail(fs.readFileSync(logPath, 'utf8'), 40) : '';
    say(`offline build FAILED after ${elapsed(start)}: ${messageOf(error)}`);
    say(`last 40 lines of ${logPath}:\n${logTail}`);
    say(`build dir kept for inspection: ${buildDir}`);
    throw new Error(`mediasoup-worker offline build failed (see ${logPath}): ${messageOf(error)}`, { cause: error });
  }
}

/** @param {Say} say @param {number} start @returns {(line: string) => void} says ninja's progress every tenth */
function progressReporter(say, start) {
  let lastDecile = 0;
  return (line) => {
    const match = /^\[(\d+)\/(\d+)\]/.exec(line);
    if (!match) return;
    const decile = Math.floor((Number(match[1]) / Number(match[2])) * 10);
    if (decile > lastDecile) {
      lastDecile = decile;
      say(`  ninja ${match[1]}/${match[2]} (${decile * 10}%, ${elapsed(start)})`);
    }
  };
}

/**
 * Runs a command, appending its stdout and stderr to logFd; rejects on a non-zero exit.
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd: string, logFd: number, onLine?: ((line: string) => void) | undefined }} options
 * @returns {Promise<void>}
 */
function runLogged(command, args, { cwd, logFd, onLine }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      fs.writeSync(logFd, chunk);
      if (!onLine) return;
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(onLine);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) => reject(new Error(`${command} could not be started: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited with ${signal ?? code}`));
    });
  });
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  ensureMediasoupWorker({ root: path.resolve(SCRIPT_DIR, '..'), log: (message) => console.error(message) })
    .then((bin) => console.log(bin))
    .catch((/** @type {unknown} */ error) => {
      console.error(`[mediasoup-worker] ERROR: ${messageOf(error)}`);
      process.exitCode = 1;
    });
}
