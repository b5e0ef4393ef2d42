// Installs missing Debian packages (as root) or says exactly what to run (otherwise).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function isInstalled({ pkg, bin }) {
  if (bin) return existsSync(bin);
  const query = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return query.status === 0 && query.stdout.includes('install ok installed');
}

function aptGet(args) {
  return spawnSync('apt-get', args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  }).status === 0;
}

/**
 * @param {{ pkg: string, bin?: string }[]} packages
 * @param {(message: string) => void} log
 * @returns {'skipped' | undefined}
 */
export function ensureDebianPackages(packages, log) {
  const missing = packages.filter((entry) => !isInstalled(entry)).map((entry) => entry.pkg);
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
