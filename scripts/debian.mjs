// Installs missing Debian packages (as root) or says exactly what to run (otherwise).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * A Debian package, and a file it installs when checking for that file is enough to know it is there.
 * @typedef {{ pkg: string, bin?: string }} DebianPackage
 */

/** @param {DebianPackage} entry @returns {boolean | undefined} undefined when dpkg cannot be asked (not Debian) */
function isInstalled({ pkg, bin }) {
  if (bin) return existsSync(bin);
  const query = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  if (query.error) return undefined;
  return query.status === 0 && query.stdout.includes('install ok installed');
}

/** @param {string[]} args @returns {boolean} whether apt-get succeeded */
function aptGet(args) {
  // Another apt (unattended-upgrades, a second bootstrap) may hold the dpkg lock: wait for it instead of failing.
  return (
    spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0
  );
}

/**
 * @param {DebianPackage[]} packages
 * @param {(message: string) => void} log
 * @returns {'skipped' | undefined}
 */
export function ensureDebianPackages(packages, log) {
  const state = packages.map((entry) => ({ pkg: entry.pkg, installed: isInstalled(entry) }));
  const unknown = state.filter((entry) => entry.installed === undefined).map((entry) => entry.pkg);
  if (unknown.length > 0) {
    // Not Debian: nothing to install with, so go on and let the step that needs them say what failed.
    log(`dpkg-query is not available (not Debian?): make sure these or their equivalents are installed: ${unknown.join(' ')}`);
  }
  const missing = state.filter((entry) => entry.installed === false).map((entry) => entry.pkg);
  if (missing.length === 0) return 'skipped';
  const command = `apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`Missing Debian packages: ${missing.join(', ')}. Install them with:\n  sudo apt-get update && sudo ${command}`);
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  // A fresh machine may have no package lists yet; update once if the first attempt fails.
  if (!aptGet(['install', '-y', '-q', ...missing])) {
    if (!aptGet(['update', '-q']) || !aptGet(['install', '-y', '-q', ...missing])) {
      throw new Error(`Could not install ${missing.join(' ')} (tried: apt-get update && ${command})`);
    }
  }
  return undefined;
}
