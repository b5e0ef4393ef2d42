#!/usr/bin/env node
// Provides a working `mediasoup-worker` binary without relying on mediasoup's
// own postinstall (which is disabled for this project, see package.json
// "allowScripts"), and works fully offline on Debian.
//
// Order of attempts:
//   0. MEDIASOUP_WORKER_BIN env pointing to an existing file: returned as-is.
//   1. Cache hit: <root>/.cache/mediasoup-worker/<version>-<arch>-<patchHash>/mediasoup-worker
//   2. mediasoup's official prebuilt binary from GitHub releases (same URL as
//      node_modules/mediasoup/npm-scripts.mjs), with a short timeout.
//   3. Offline build from node_modules/mediasoup/worker + the patch(es) in
//      scripts/mediasoup-worker/ against Debian system packages
//      (meson + ninja, ~10 min on 2 cores).
// The resulting binary is also copied to
// <root>/node_modules/mediasoup/worker/out/Release/mediasoup-worker, where
// mediasoup looks for it by default.
//
// Only node: builtins are used here: this may run before `npm ci` completed.
//
// Usage: node scripts/mediasoup-worker.mjs   (prints the binary path)
//    or: import { ensureMediasoupWorker } from './scripts/mediasoup-worker.mjs'

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const PATCH_DIR = path.join(SCRIPT_DIR, 'mediasoup-worker');
const BIN_NAME = 'mediasoup-worker';

// Debian packages needed by the offline build (see the patch header).
const DEBIAN_PACKAGES = [
	'meson',
	'ninja-build',
	'libssl-dev',
	'libuv1-dev',
	'libsrtp2-dev',
	'libabsl-dev',
	'libflatbuffers-dev',
	'flatbuffers-compiler',
	'pkg-config',
	'g++',
	'patch',
];

// Prebuilt download: time allowed until the response headers arrive (DNS
// errors fail immediately), then for the body (a few MB) once the server
// answered.
const DOWNLOAD_HEADERS_TIMEOUT_MS = 15_000;
const DOWNLOAD_BODY_TIMEOUT_MS = 60_000;

/**
 * Ensures a working mediasoup-worker binary exists and returns its absolute
 * path (the cached copy, or MEDIASOUP_WORKER_BIN as-is). It is also copied to
 * <root>/node_modules/mediasoup/worker/out/Release/mediasoup-worker.
 *
 * @param {{ root?: string, log?: (msg: string) => void }} [options]
 * @returns {Promise<string>}
 */
export async function ensureMediasoupWorker({
	root = path.resolve(SCRIPT_DIR, '..'),
	log = console.log,
} = {}) {
	root = path.resolve(root);
	const say = msg => log(`[mediasoup-worker] ${msg}`);
	const t0 = Date.now();

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
	const patchHash = hashPatches(patches);
	const key = `${pkg.version}-${process.arch}-${patchHash}`;
	const cacheRoot = path.join(root, '.cache', 'mediasoup-worker');
	const cacheDir = path.join(cacheRoot, key);
	const cachedBin = path.join(cacheDir, BIN_NAME);
	const defaultBin = path.join(mediasoupDir, 'worker', 'out', 'Release', BIN_NAME);

	// 1. Cache hit.
	if (fs.existsSync(cachedBin) && checkWorkerRuns(cachedBin).ok) {
		installCopy(cachedBin, defaultBin, say);
		say(`cache hit ${cachedBin} (${elapsed(t0)})`);

		return cachedBin;
	}

	fs.mkdirSync(cacheRoot, { recursive: true });

	const release = await acquireLock(path.join(cacheRoot, `${key}.lock`), say);

	try {
		// Another process may have produced it while we waited for the lock.
		if (fs.existsSync(cachedBin) && checkWorkerRuns(cachedBin).ok) {
			say(`cache filled by another process: ${cachedBin}`);
		} else {
			fs.mkdirSync(cacheDir, { recursive: true });

			// 2. Official prebuilt binary.
			const downloaded = await tryDownloadPrebuilt({ pkg, cacheDir, cachedBin, say });

			// 3. Offline build.
			if (!downloaded) {
				await buildOffline({ mediasoupDir, version: pkg.version, patches, cacheRoot, cacheDir, cachedBin, key, say });
			}
		}
	} finally {
		release();
	}

	installCopy(cachedBin, defaultBin, say);
	say(`ready: ${cachedBin} (total ${elapsed(t0)})`);

	return cachedBin;
}

function readMediasoupPackageJson(mediasoupDir) {
	const pkgPath = path.join(mediasoupDir, 'package.json');

	if (!fs.existsSync(pkgPath)) {
		throw new Error(
			`mediasoup is not installed (${pkgPath} missing): run \`npm ci\` first`
		);
	}

	return JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
}

function listPatches() {
	if (!fs.existsSync(PATCH_DIR)) {
		return [];
	}

	return fs
		.readdirSync(PATCH_DIR)
		.filter(name => name.endsWith('.patch'))
		.sort()
		.map(name => path.join(PATCH_DIR, name));
}

function hashPatches(patches) {
	const hash = createHash('sha256');

	for (const file of patches) {
		hash.update(fs.readFileSync(file));
	}

	return hash.digest('hex').slice(0, 12);
}

function elapsed(since) {
	const ms = Date.now() - since;

	return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Checks that the binary starts. mediasoup-worker's main() first checks the
 * MEDIASOUP_VERSION env var; when it is missing it prints
 * "mediasoup-worker::main() | you don't seem to be my real father!" to stderr
 * and exits with the custom code 41 (there is no --version flag: any argv
 * takes the same path). So running it with an empty env and expecting exit
 * code 41 proves it loads (shared libs resolve) and runs, without touching
 * any channel fd. A missing shared library gives 127 and a loader error.
 * mediasoup's npm-scripts.mjs uses the same check for prebuilt binaries.
 */
function checkWorkerRuns(bin) {
	const res = spawnSync(bin, [], {
		env: {},
		stdio: ['ignore', 'pipe', 'pipe'],
		timeout: 10_000,
		encoding: 'utf8',
	});

	if (res.status === 41) {
		return { ok: true };
	}

	const why = res.error
		? String(res.error.message)
		: `exit status ${res.status}${res.signal ? ` signal ${res.signal}` : ''}`;

	return { ok: false, reason: `${why} ${(res.stderr || '').trim()}`.trim() };
}

/** Copies src to dest (atomically via rename) unless identical already. */
function installCopy(src, dest, say) {
	const srcBuf = fs.readFileSync(src);

	try {
		if (fs.readFileSync(dest).equals(srcBuf)) {
			return;
		}
	} catch {
		// dest missing.
	}

	fs.mkdirSync(path.dirname(dest), { recursive: true });

	const tmp = `${dest}.tmp-${process.pid}`;

	fs.writeFileSync(tmp, srcBuf, { mode: 0o755 });
	fs.chmodSync(tmp, 0o755);
	fs.renameSync(tmp, dest);
	say(`copied to ${dest}`);
}

/** Simple cross-process lock (exclusive create), with stale-pid detection. */
async function acquireLock(lockPath, say) {
	let waitingSaid = false;

	for (;;) {
		try {
			fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });

			const release = () => {
				process.off('exit', release);
				fs.rmSync(lockPath, { force: true });
			};

			// Also release it if the process exits abruptly (process.exit()).
			process.on('exit', release);

			return release;
		} catch (error) {
			if (error.code !== 'EEXIST') {
				throw error;
			}
		}

		const holder = Number(fs.readFileSync(lockPath, 'utf8').trim());

		if (!holder || !pidAlive(holder)) {
			fs.rmSync(lockPath, { force: true });
			continue;
		}

		if (!waitingSaid) {
			say(`waiting for another build/download (pid ${holder}, lock ${lockPath})`);
			waitingSaid = true;
		}

		await new Promise(resolve => setTimeout(resolve, 1000));
	}
}

function pidAlive(pid) {
	try {
		process.kill(pid, 0);

		return true;
	} catch (error) {
		return error.code === 'EPERM';
	}
}

// Same URL as mediasoup's npm-scripts.mjs (getWorkerPrebuildTarName() and
// downloadPrebuiltWorker()), including MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL.
function prebuiltUrl(pkg) {
	const releaseBase =
		process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL ||
		`${String(pkg.repository?.url ?? 'git+https://github.com/versatica/mediasoup.git')
			.replace(/^git\+/, '')
			.replace(/\.git$/, '')}/releases/download`;
	let name = `mediasoup-worker-${pkg.version}-${os.platform()}-${os.arch()}`;

	if (os.platform() === 'linux') {
		name += `-kernel${Number(os.release().split('.')[0])}`;
	}

	return `${releaseBase}/${pkg.version}/${name}.tgz`;
}

async function tryDownloadPrebuilt({ pkg, cacheDir, cachedBin, say }) {
	if (process.env.MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD) {
		say('MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD set, not downloading the prebuilt binary');

		return false;
	}

	const url = prebuiltUrl(pkg);
	const t = Date.now();
	const tgz = path.join(cacheDir, `prebuilt-${process.pid}.tgz`);
	const extractDir = path.join(cacheDir, `prebuilt-${process.pid}`);

	say(`downloading official prebuilt binary ${url}`);

	try {
		const controller = new AbortController();
		let timer = setTimeout(() => controller.abort(), DOWNLOAD_HEADERS_TIMEOUT_MS);
		let body;

		try {
			const res = await fetch(url, { signal: controller.signal, redirect: 'follow' });

			if (!res.ok) {
				throw new Error(`HTTP ${res.status} ${res.statusText}`);
			}

			clearTimeout(timer);
			timer = setTimeout(() => controller.abort(), DOWNLOAD_BODY_TIMEOUT_MS);
			body = Buffer.from(await res.arrayBuffer());
		} finally {
			clearTimeout(timer);
		}

		fs.writeFileSync(tgz, body);
		fs.rmSync(extractDir, { recursive: true, force: true });
		fs.mkdirSync(extractDir, { recursive: true });

		const tar = spawnSync('tar', ['-xzf', tgz, '-C', extractDir], { encoding: 'utf8' });

		if (tar.status !== 0) {
			throw new Error(`tar failed: ${tar.error?.message ?? tar.stderr.trim()}`);
		}

		const extracted = path.join(extractDir, BIN_NAME);

		if (!fs.existsSync(extracted)) {
			throw new Error(`archive has no ${BIN_NAME}`);
		}

		fs.chmodSync(extracted, 0o755);

		const check = checkWorkerRuns(extracted);

		if (!check.ok) {
			throw new Error(`prebuilt binary does not run on this host: ${check.reason}`);
		}

		fs.renameSync(extracted, cachedBin);
		fs.writeFileSync(path.join(cacheDir, 'origin.txt'), `prebuilt ${url}\n`);
		say(`prebuilt binary OK (${elapsed(t)})`);

		return true;
	} catch (error) {
		const cause = error.cause ? ` (${error.cause.code || error.cause.message})` : '';
		const reason = error.name === 'AbortError' ? 'timed out' : `${error.message}${cause}`;

		say(`prebuilt download unavailable: ${reason} (${elapsed(t)}); falling back to offline build`);

		return false;
	} finally {
		fs.rmSync(tgz, { force: true });
		fs.rmSync(extractDir, { recursive: true, force: true });
	}
}

function ensureDebianPackages(say) {
	const t = Date.now();
	const query = spawnSync(
		'dpkg-query',
		['-W', '-f=${Package} ${db:Status-Abbrev}\n', ...DEBIAN_PACKAGES],
		{ encoding: 'utf8' }
	);

	if (query.error) {
		say(
			`dpkg-query not available (${query.error.code}); not a Debian system? ` +
				`The build needs: ${DEBIAN_PACKAGES.join(' ')} (or equivalents)`
		);

		return;
	}

	const installed = new Set(
		query.stdout
			.split('\n')
			.map(line => line.trim().split(/\s+/))
			.filter(([name, status]) => name && status?.startsWith('ii'))
			.map(([name]) => name.replace(/:.*$/, ''))
	);
	const missing = DEBIAN_PACKAGES.filter(name => !installed.has(name));

	if (missing.length === 0) {
		say(`Debian build dependencies present (${elapsed(t)})`);

		return;
	}

	const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

	if (!isRoot) {
		const cmd = `sudo apt-get install -y ${missing.join(' ')}`;

		throw new Error(
			`cannot build mediasoup-worker offline: missing Debian packages ` +
				`(${missing.join(' ')}). Install them with:\n  ${cmd}\nthen re-run.`
		);
	}

	say(`installing missing Debian packages: ${missing.join(' ')}`);

	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	const apt = args =>
		spawnSync('apt-get', args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
	// Wait for the dpkg lock instead of failing if another apt is running.
	const installArgs = ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', ...missing];
	let res = apt(installArgs);

	if (res.status !== 0 && /Unable to locate|has no installation candidate/.test(res.stderr + res.stdout)) {
		say('package lists outdated: running apt-get update');

		const update = apt(['-o', 'DPkg::Lock::Timeout=600', 'update']);

		if (update.status !== 0) {
			say(tail(update.stdout + update.stderr, 20));
		}

		res = apt(installArgs);
	}

	if (res.status !== 0) {
		say(tail(`${res.stdout}${res.stderr}`, 40));

		throw new Error(
			`apt-get install ${missing.join(' ')} failed (status ${res.status}${res.error ? `, ${res.error.message}` : ''})`
		);
	}

	say(`installed ${missing.join(' ')} (${elapsed(t)})`);
}

function tail(text, lines) {
	return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function buildOffline({ mediasoupDir, version, patches, cacheRoot, cacheDir, cachedBin, key, say }) {
	const t = Date.now();

	if (os.platform() !== 'linux') {
		throw new Error(
			`no prebuilt mediasoup-worker could be downloaded and the offline build only ` +
				`supports Linux (Debian). Set MEDIASOUP_WORKER_BIN to a mediasoup-worker ${version} binary.`
		);
	}

	ensureDebianPackages(say);

	const buildDir = path.join(cacheRoot, `build-${key}`);
	const logPath = path.join(cacheDir, 'build.log');
	const srcWorker = path.join(mediasoupDir, 'worker');
	const logFd = fs.openSync(logPath, 'w');
	// Every command's output goes to build.log so that failures can be diagnosed.
	const run = async (step, cmd, args, opts = {}) => {
		const ts = Date.now();

		fs.writeSync(logFd, `\n$ ${cmd} ${args.join(' ')}\n`);
		await runLogged(cmd, args, { cwd: buildDir, logFd, ...opts });
		say(`${step} done (${elapsed(ts)})`);
	};

	say(`offline build in ${buildDir} (log: ${logPath})`);

	try {
		fs.rmSync(buildDir, { recursive: true, force: true });
		fs.cpSync(srcWorker, buildDir, {
			recursive: true,
			// Skip build outputs / downloaded stuff possibly present in the package.
			filter: src => {
				const rel = path.relative(srcWorker, src);

				return !/^(out|prebuild|pip_invoke|subprojects[\\/]packagecache)($|[\\/])/.test(rel);
			},
		});

		for (const patchFile of patches) {
			await run(`patch ${path.basename(patchFile)}`, 'patch', [
				'-p1',
				'--forward',
				'--batch',
				'-i',
				patchFile,
			]);
		}

		await run('meson setup', 'meson', [
			'setup',
			'out',
			'--buildtype=release',
			'-Db_ndebug=true',
			'--wrap-mode=nofallback',
		]);

		// mediasoup 3.27 orders the generation of the FBS/*.h headers itself.

		say(`compiling mediasoup-worker with ninja (takes a few minutes; progress every ~10%)`);
		await run('ninja mediasoup-worker', 'ninja', ['-C', 'out', BIN_NAME], {
			onLine: progressReporter(say, Date.now()),
		});

		const built = path.join(buildDir, 'out', BIN_NAME);
		const tmp = `${cachedBin}.tmp-${process.pid}`;

		fs.copyFileSync(built, tmp);
		fs.chmodSync(tmp, 0o755);

		const check = checkWorkerRuns(tmp);

		if (!check.ok) {
			fs.rmSync(tmp, { force: true });
			throw new Error(`built binary does not run: ${check.reason}`);
		}

		fs.renameSync(tmp, cachedBin);
		fs.writeFileSync(
			path.join(cacheDir, 'origin.txt'),
			`offline build (${patches.map(p => path.basename(p)).join(', ')})\n`
		);
		fs.closeSync(logFd);
		fs.rmSync(buildDir, { recursive: true, force: true });
		say(`offline build OK (${elapsed(t)})`);
	} catch (error) {
		try {
			fs.closeSync(logFd);
		} catch {
			// Already closed.
		}

		let logTail = '';

		try {
			logTail = tail(fs.readFileSync(logPath, 'utf8'), 40);
		} catch {
			// No log.
		}

		say(`offline build FAILED after ${elapsed(t)}: ${error.message}`);
		say(`last 40 lines of ${logPath}:\n${logTail}`);
		say(`build dir kept for inspection: ${buildDir}`);

		throw new Error(`mediasoup-worker offline build failed (see ${logPath}): ${error.message}`);
	}
}

function progressReporter(say, start) {
	let lastDecile = 0;

	return line => {
		const m = /^\[(\d+)\/(\d+)\]/.exec(line);

		if (!m) {
			return;
		}

		const decile = Math.floor((Number(m[1]) / Number(m[2])) * 10);

		if (decile > lastDecile) {
			lastDecile = decile;
			say(`  ninja ${m[1]}/${m[2]} (${decile * 10}%, ${elapsed(start)})`);
		}
	};
}

/** Runs a command, appending stdout+stderr to logFd; rejects on non-zero exit. */
function runLogged(cmd, args, { cwd, logFd, onLine }) {
	return new Promise((resolve, reject) => {
		const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
		let partial = '';
		const onData = chunk => {
			fs.writeSync(logFd, chunk);

			if (onLine) {
				const lines = (partial + chunk.toString('utf8')).split('\n');

				partial = lines.pop();
				lines.forEach(onLine);
			}
		};

		child.stdout.on('data', onData);
		child.stderr.on('data', onData);
		child.on('error', error =>
			reject(new Error(`${cmd} could not be started: ${error.message}`))
		);
		child.on('close', (code, signal) => {
			if (code === 0) {
				resolve();
			} else {
				reject(new Error(`${cmd} ${args.join(' ')} exited with ${signal ?? code}`));
			}
		});
	});
}

function isMain() {
	if (!process.argv[1]) {
		return false;
	}

	try {
		return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
	} catch {
		return false;
	}
}

if (isMain()) {
	ensureMediasoupWorker({ root: path.resolve(SCRIPT_DIR, '..'), log: msg => console.error(msg) })
		.then(bin => {
			console.log(bin);
		})
		.catch(error => {
			console.error(`[mediasoup-worker] ERROR: ${error.message}`);
			process.exitCode = 1;
		});
}
