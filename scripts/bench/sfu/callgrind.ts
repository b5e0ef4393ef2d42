import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * Makes every mediasoup worker spawned from now on run under callgrind, writing its dumps to
 * `dumpDir`. This uses mediasoup's own switch (MEDIASOUP_USE_VALGRIND, read at each createWorker,
 * present in 3.19 and 3.27) rather than a wrapper as MEDIASOUP_WORKER_BIN, which mediasoup reads
 * once, when it is first imported. Returns a function that puts the environment back.
 */
export function runWorkersUnderCallgrind(dumpDir: string): () => void {
  // mediasoup splits the options on whitespace.
  if (/\s/.test(dumpDir)) throw new Error(`callgrind's dump directory must not contain spaces: ${dumpDir}`);
  const saved = { use: process.env.MEDIASOUP_USE_VALGRIND, options: process.env.MEDIASOUP_VALGRIND_OPTIONS };
  process.env.MEDIASOUP_USE_VALGRIND = 'true';
  process.env.MEDIASOUP_VALGRIND_OPTIONS = ['--tool=callgrind', '-q', `--callgrind-out-file=${path.join(dumpDir, 'callgrind.%p')}`].join(' ');
  return () => {
    for (const [name, value] of [
      ['MEDIASOUP_USE_VALGRIND', saved.use],
      ['MEDIASOUP_VALGRIND_OPTIONS', saved.options],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** Sends one command through callgrind_control, which exits 0 even when it found no such process. */
async function control(flag: '-z' | '-d', pid: number): Promise<void> {
  const { stdout, stderr } = await exec('callgrind_control', [flag, String(pid)], { timeout: 30_000 });
  if (!/^\s*OK\.?\s*$/m.test(stdout)) throw new Error(`callgrind_control ${flag} ${pid} failed: ${`${stdout}${stderr}`.trim()}`);
}

/** Zeroes the worker's counters: what comes next is the measured window. */
export async function zeroCounters(pid: number): Promise<void> {
  await control('-z', pid);
}

/** Dumps the counters since the last zero and returns the dump's file (callgrind numbers them `.1`, `.2`, …). */
export async function dumpCounters(pid: number, dumpDir: string): Promise<string> {
  const before = new Set(dumpsOf(pid, dumpDir));
  await control('-d', pid);
  // callgrind_control returns once the dump is requested; the file follows within moments.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const fresh = dumpsOf(pid, dumpDir).filter((file) => !before.has(file));
    if (fresh.length > 0 && fresh.every(isComplete)) return fresh.at(-1)!;
    if (Date.now() > deadline) throw new Error(`callgrind wrote no dump for worker ${pid}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function dumpsOf(pid: number, dumpDir: string): string[] {
  const prefix = `callgrind.${pid}.`;
  return readdirSync(dumpDir)
    .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
    .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))
    .map((name) => path.join(dumpDir, name));
}

/** The totals line is the last thing callgrind writes. */
function isComplete(file: string): boolean {
  return statSync(file).size > 0 && totalInstructions(readFileSync(file, 'utf8')) !== null;
}

/**
 * Instructions executed (Ir) in a dump: its `totals:` line, the sum of every function's cost (what
 * callgrind_annotate splits up). The `summary:` line in the header can differ by a few thousand.
 */
export function totalInstructions(dump: string): number | null {
  const match = /^totals:\s+(\d+)/m.exec(dump);
  return match ? Number(match[1]) : null;
}

/**
 * Instructions per function, excluding callees (so they add up to `totals:`), read from the dump
 * itself: callgrind_annotate counts a call whose count was zeroed by `-z` as the caller's own cost.
 * Callgrind names each function and object once (`fn=(id) name`) and refers to it by id after.
 * A function without a symbol is named by its address and its object.
 */
export function selfCostByFunction(dump: string): Map<string, number> {
  const names = { fn: new Map<string, string>(), ob: new Map<string, string>() };
  const resolve = (kind: 'fn' | 'ob', spec: string): string => {
    const match = /^\((\d+)\)(?:\s+(.*))?$/.exec(spec.trim());
    if (!match) return spec.trim();
    if (match[2] !== undefined) names[kind].set(match[1]!, match[2]);
    return names[kind].get(match[1]!) ?? spec.trim();
  };
  const costs = new Map<string, number>();
  let object = '';
  let current = '';
  let inCall = false;
  for (const line of dump.split('\n')) {
    const field = /^(c?)(fn|ob)=(.*)$/.exec(line);
    if (field) {
      const name = resolve(field[2] as 'fn' | 'ob', field[3]!);
      if (field[1]) continue;
      if (field[2] === 'ob') object = name;
      else current = name.startsWith('0x') ? `${name} (${path.basename(object)})` : name;
    } else if (line.startsWith('calls=')) inCall = true;
    else if (/^[+\-*\d]/.test(line)) {
      // A cost line: the position, then Ir. The one right after calls= is the callee's inclusive cost.
      const ir = Number(line.trim().split(/\s+/)[1] ?? 0);
      if (!inCall) costs.set(current, (costs.get(current) ?? 0) + ir);
      inCall = false;
    }
  }
  return costs;
}

/** `f<a<b>, c>::g()` → `f<…>::g()`: template arguments make C++ names too long for a table. */
export function shortName(name: string): string {
  let shorter = name;
  // Innermost first; the placeholder (NUL, which no C++ name contains) has no angle brackets, so the
  // enclosing arguments match next.
  for (let previous = ''; previous !== shorter;) {
    previous = shorter;
    shorter = shorter.replace(/<[^<>]*>/g, '\u0000');
  }
  return shorter.replaceAll('\u0000', '<…>');
}
