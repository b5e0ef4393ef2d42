#!/usr/bin/env node
// `npm start` / `npm test` entry point. Plain Node with no dependencies, because it runs before
// `npm ci` and on a machine's older Node (it first provides Node 24 and runs again under it). Each
// step checks whether its result is already there and skips if so, so a second run goes straight to
// the job.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { setPriority } from 'node:os';
import { existsSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianPackages } from './debian.mjs';
import { ensureMediasoupWorker } from './mediasoup-worker.mjs';
import { ensureNode } from './node-runtime.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2];
const passThrough = process.argv.slice(3);

/**
 * Debian packages the test suite drives for real: the browsers (Chromium, and Firefox ESR for the
 * cross-browser calls), a TURN server, certificates for HTTPS, and the tools that check the
 * deployment files (worker libraries, systemd unit).
 */
const TEST_PACKAGES = [
  { pkg: 'chromium', bin: '/usr/bin/chromium' },
  { pkg: 'firefox-esr', bin: '/usr/bin/firefox-esr' },
  { pkg: 'coturn', bin: '/usr/bin/turnserver' },
  { pkg: 'openssl', bin: '/usr/bin/openssl' },
  { pkg: 'binutils', bin: '/usr/bin/readelf' },
  { pkg: 'systemd', bin: '/usr/bin/systemd-analyze' },
  { pkg: 'iproute2', bin: '/usr/sbin/tc' },
  { pkg: 'nftables', bin: '/usr/sbin/nft' },
  // Recording tests: clips made and files checked with ffmpeg/ffprobe; a real RTMP ingest (nginx-rtmp)
  // for live streaming. nginx-light is the smallest nginx the module loads into.
  { pkg: 'ffmpeg', bin: '/usr/bin/ffprobe' },
  { pkg: 'nginx-light', bin: '/usr/sbin/nginx' },
  { pkg: 'libnginx-mod-rtmp', bin: '/usr/lib/nginx/modules/ngx_rtmp_module.so' },
  // Cluster tests (test/cluster): the Redis that nodes share, started by each test on a port of its own.
  { pkg: 'redis-server', bin: '/usr/bin/redis-server' },
];

/**
 * What recording and live streaming run (docs/recording.md): a headless Chromium draws the meeting,
 * ffmpeg writes the file or the RTMP stream. `npm start` installs them when it can; without them the
 * server still runs and refuses to record, saying what is missing.
 */
const RECORDING_PACKAGES = [
  { pkg: 'chromium', bin: '/usr/bin/chromium' },
  { pkg: 'ffmpeg', bin: '/usr/bin/ffmpeg' },
  // Chinese and Japanese names on the recording's tiles.
  { pkg: 'fonts-noto-cjk', bin: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc' },
];

/**
 * `npm run <tool>`: the compiled entry and the Debian packages it drives.
 * @type {Record<string, { entry: string, packages: import('./debian.mjs').DebianPackage[], mediaWorker?: false }>}
 */
const TOOLS = {
  loadtest: { entry: 'dist/scripts/loadtest/cli.js', packages: [{ pkg: 'chromium', bin: '/usr/bin/chromium' }] },
  'loadtest:merge': { entry: 'dist/scripts/loadtest/merge-cli.js', packages: [] },
  // Signing a token needs no media: no worker build.
  token: { entry: 'dist/server/src/tools/token.js', packages: [], mediaWorker: false },
  // Runs the chaos suite N times and prints recovery medians: the browser and TURN-free.
  'bench:chaos': { entry: 'scripts/chaos-bench.mjs', packages: [{ pkg: 'chromium', bin: '/usr/bin/chromium' }] },
  'bench:soak': { entry: 'dist/scripts/bench/soak/cli.js', packages: [{ pkg: 'chromium', bin: '/usr/bin/chromium' }] },
  // Caps one participant's link in a network namespace (root) and reports what people see.
  'bench:adapt': {
    entry: 'dist/scripts/bench/adapt/cli.js',
    packages: [
      { pkg: 'chromium', bin: '/usr/bin/chromium' },
      { pkg: 'iproute2', bin: '/usr/sbin/tc' },
      { pkg: 'nftables', bin: '/usr/sbin/nft' },
    ],
  },
  // Newcomers timed to every resident's first video frame; ffmpeg makes the residents' camera clip.
  'bench:join': {
    entry: 'dist/scripts/bench/join/cli.js',
    packages: [
      { pkg: 'chromium', bin: '/usr/bin/chromium' },
      { pkg: 'ffmpeg', bin: '/usr/bin/ffmpeg' },
    ],
  },
  // One recording and one live stream of a 4-person call: the compositor Chromium, ffmpeg, and a local RTMP ingest.
  // Two cluster nodes in one process and a redis-server: what a cross-node pipe costs.
  'bench:pipe': { entry: 'dist/scripts/bench/pipe/cli.js', packages: [{ pkg: 'redis-server', bin: '/usr/bin/redis-server' }] },
  // Three cluster nodes in network namespaces (root), one room spanning them, load-test bots and synthetic participants through each.
  'bench:span': {
    entry: 'dist/scripts/bench/span/cli.js',
    packages: [
      { pkg: 'chromium', bin: '/usr/bin/chromium' },
      { pkg: 'redis-server', bin: '/usr/bin/redis-server' },
      { pkg: 'iproute2', bin: '/usr/sbin/tc' },
      { pkg: 'nftables', bin: '/usr/sbin/nft' },
    ],
  },
  'bench:record': {
    entry: 'dist/scripts/bench/record/cli.js',
    packages: [
      { pkg: 'chromium', bin: '/usr/bin/chromium' },
      { pkg: 'ffmpeg', bin: '/usr/bin/ffmpeg' },
      { pkg: 'nginx-light', bin: '/usr/sbin/nginx' },
      { pkg: 'libnginx-mod-rtmp', bin: '/usr/lib/nginx/modules/ngx_rtmp_module.so' },
    ],
  },
  'bench:sfu': {
    entry: 'dist/scripts/bench/sfu/cli.js',
    packages: [
      { pkg: 'ffmpeg', bin: '/usr/bin/ffmpeg' },
      { pkg: 'valgrind', bin: '/usr/bin/valgrind' },
    ],
  },
};

/**
 * Like run(), without blocking: resolves when the command succeeded, rejects with its exit status.
 * @param {string} command @param {string[]} args
 * @returns {Promise<void>}
 */
function runAsync(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed (exit ${code ?? signal})`))));
  });
}

/** @param {string} message */
function log(message) {
  process.stderr.write(`[conclave] ${message}\n`);
}

/** @param {string} command @param {string[]} args @param {import('node:child_process').SpawnSyncOptions} [options] */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
  }
}

/**
 * @template T
 * @param {string} label
 * @param {() => T | Promise<T>} step returns 'skipped' when there was nothing to do
 * @returns {Promise<T>}
 */
async function timed(label, step) {
  const start = Date.now();
  const result = await step();
  if (result !== 'skipped') log(`${label} done in ${((Date.now() - start) / 1000).toFixed(1)} s`);
  return result;
}

/** `npm ci` when node_modules is missing or was installed from a different lockfile. */
function ensureDependencies() {
  const lockHash = createHash('sha256')
    .update(readFileSync(path.join(root, 'package-lock.json')))
    .digest('hex');
  const marker = path.join(root, 'node_modules', '.conclave-lock-hash');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === lockHash) return 'skipped';
  log('installing dependencies (npm ci)…');
  // mediasoup's postinstall would try to download or build its worker; ensureMediasoupWorker does
  // that instead (prebuilt first, offline build as the fallback), so skip it here.
  run('npm', ['ci', '--no-audit', '--no-fund'], { env: { ...process.env, MEDIASOUP_WORKER_BIN: 'provided-by-conclave-bootstrap' } });
  writeFileSync(marker, lockHash);
  return undefined;
}

/** @param {string[]} entries paths relative to the root @returns {number} */
function newestMtime(entries) {
  let newest = 0;
  /** @param {string} entry */
  const visit = (entry) => {
    if (!existsSync(entry)) return;
    const stat = statSync(entry);
    if (stat.isDirectory()) {
      for (const child of readdirSync(entry)) {
        if (child !== 'node_modules' && child !== 'dist') visit(path.join(entry, child));
      }
    } else newest = Math.max(newest, stat.mtimeMs);
  };
  for (const entry of entries) visit(path.join(root, entry));
  return newest;
}

/** Rebuilds server and client when any of their sources is newer than the last build. */
async function ensureBuild() {
  const stamp = path.join(root, 'dist', '.build-stamp');
  const sources = newestMtime(['server', 'client', 'shared', 'scripts', 'package-lock.json', 'tsconfig.json']);
  if (existsSync(stamp) && existsSync(path.join(root, 'client', 'dist', 'index.html')) && statSync(stamp).mtimeMs >= sources) {
    return 'skipped';
  }
  log('building server, client and tools…');
  // Three independent programs: side by side they take the time of the slowest.
  await Promise.all(['build:server', 'build:client', 'build:tools'].map((script) => runAsync('npm', ['run', '--silent', script])));
  writeFileSync(stamp, new Date().toISOString());
  return undefined;
}

/**
 * The whole-program checks `npm test` runs besides the suite: typecheck, ESLint (type-aware) and
 * Prettier, about 65 CPU-seconds (ESLint 45 of them). They run beside the tests at the lowest CPU
 * priority, so they take only what the browsers and workers leave idle instead of ~35 s of wall time
 * before the first test; each says at once when it fails, with its output kept until then so it
 * does not interleave with the tests'. Resolves to whether all passed.
 * @returns {Promise<boolean>}
 */
function startChecks() {
  const bin = (/** @type {string} */ name) => path.join(root, 'node_modules', '.bin', name);
  /** @type {[string, string, string[]][]} */
  const checks = [
    // TypeScript 7, the native compiler: the same check at about half the CPU of TypeScript 5, whose
    // JavaScript API typescript-eslint's type-aware rules still need (package.json keeps both).
    ['typecheck', process.execPath, [path.join(root, 'node_modules', 'typescript-7', 'bin', 'tsc'), '--noEmit', '-p', 'tsconfig.json']],
    ['eslint', bin('eslint'), ['.']],
    ['prettier', bin('prettier'), ['--check', '.']],
  ];
  const results = checks.map(
    ([label, command, args]) =>
      /** @type {Promise<boolean>} */ (
        new Promise((resolve) => {
          const started = Date.now();
          const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
          if (child.pid !== undefined) setPriority(child.pid, 19);
          let output = '';
          child.stdout.on('data', (chunk) => (output += String(chunk)));
          child.stderr.on('data', (chunk) => (output += String(chunk)));
          child.on('error', (error) => {
            log(`${label} could not start: ${error.message}`);
            resolve(false);
          });
          child.on('exit', (code) => {
            const seconds = ((Date.now() - started) / 1000).toFixed(1);
            if (code === 0) log(`${label} passed (${seconds} s, beside the tests)`);
            else {
              process.stderr.write(output);
              log(`${label} FAILED (exit ${code ?? 'signal'}, ${seconds} s); the run will fail`);
            }
            resolve(code === 0);
          });
          process.on('exit', () => child.kill());
        })
      ),
  );
  return Promise.all(results).then((passed) => passed.every(Boolean));
}

/**
 * On a machine whose Node is too old, runs this same bootstrap again under the provided Node, with
 * that Node first on PATH so that npm, vitest and everything else started from here use it too.
 * @returns {boolean} whether it handed over (this process then only waits for the other)
 */
function handOverToSupportedNode() {
  const node = ensureNode({ log });
  if (realpathSync(node.bin) === realpathSync(process.execPath)) return false;
  log(`running under Node ${node.version} (${node.source === 'NODE_BIN' ? 'NODE_BIN' : node.bin})`);
  const PATH = [path.dirname(node.bin), process.env.PATH].filter(Boolean).join(path.delimiter);
  foreground(node.bin, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { ...process.env, PATH, NODE_BIN: node.bin });
  return true;
}

/**
 * Runs a child in the foreground; Ctrl-C reaches it directly, SIGTERM is forwarded. The process
 * exits with the child's code, or with what `settle` makes of it.
 * @param {string} command @param {string[]} args @param {NodeJS.ProcessEnv} env
 * @param {(code: number) => Promise<number>} [settle]
 */
function foreground(command, args, env, settle = (code) => Promise.resolve(code)) {
  const child = spawn(command, args, { cwd: root, stdio: 'inherit', env });
  /** @param {NodeJS.Signals} signal */
  const forward = (signal) => child.kill(signal);
  process.on('SIGTERM', forward);
  process.on('SIGINT', () => {}); // the terminal already delivered it to the child
  child.on('exit', (code, signal) => {
    if (signal) process.exit(128);
    void settle(code ?? 1).then((final) => process.exit(final));
  });
}

async function main() {
  const tool = mode !== undefined && Object.hasOwn(TOOLS, mode) ? TOOLS[mode] : undefined;
  if (mode !== 'start' && mode !== 'test' && !tool) {
    log(`usage: node scripts/bootstrap.mjs start|test|${Object.keys(TOOLS).join('|')} [args…]`);
    process.exit(2);
  }
  const started = Date.now();
  if (handOverToSupportedNode()) return;
  await timed('dependencies', ensureDependencies);
  const workerBin = tool?.mediaWorker === false ? undefined : await timed('mediasoup worker', () => ensureMediasoupWorker({ root, log }));
  if (mode === 'test') await timed('test packages', () => ensureDebianPackages(TEST_PACKAGES, log));
  if (mode === 'start') {
    await timed('recording packages', () => {
      try {
        return ensureDebianPackages(RECORDING_PACKAGES, log);
      } catch (error) {
        log(`recording and streaming will be unavailable: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      }
    });
  }
  if (tool) await timed(`${mode} packages`, () => ensureDebianPackages(tool.packages, log));
  await timed('build', ensureBuild);
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const env = { ...process.env, ...(workerBin ? { MEDIASOUP_WORKER_BIN: workerBin } : {}) };
  if (tool) {
    foreground(process.execPath, ['--enable-source-maps', tool.entry, ...passThrough], env);
  } else if (mode === 'start') {
    foreground(process.execPath, ['--enable-source-maps', 'dist/server/src/index.js', ...passThrough], env);
  } else {
    const checks = startChecks();
    foreground(path.join(root, 'node_modules', '.bin', 'vitest'), ['run', ...passThrough], env, async (code) => {
      const passed = await checks;
      return code !== 0 ? code : passed ? 0 : 1;
    });
  }
}

main().catch((error) => {
  log(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
