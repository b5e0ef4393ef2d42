// `npm run bench:chaos -- [--runs N] [--case TEXT]`: runs the chaos suite (test/chaos) N times,
// alone, and prints each case's recovery time (fault → every video decoding again) as median,
// min and max over the runs. The suite itself asserts behaviour with generous limits; this is
// where the figures for BENCHMARKS.md come from.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, case: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  process.stdout.write('Usage: npm run bench:chaos -- [--runs N] [--case TEXT (a test name filter, e.g. "every worker")]\n');
  process.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write('--runs must be a whole number ≥ 1\n');
  process.exit(2);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'conclave-chaos-'));
const report = path.join(dir, 'recoveries.jsonl');
let failedRuns = 0;
for (let run = 1; run <= runs; run++) {
  process.stderr.write(`[bench:chaos] run ${run}/${runs}…\n`);
  const args = ['run', 'test/chaos', ...(values.case ? ['-t', values.case] : [])];
  const result = spawnSync(path.join(root, 'node_modules', '.bin', 'vitest'), args, {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, CHAOS_REPORT: report },
  });
  if (result.status !== 0) {
    failedRuns++;
    process.stderr.write(`[bench:chaos] run ${run} failed (exit ${result.status ?? result.signal}); its measured cases still count\n`);
  }
}

/**
 * One line the suite wrote.
 * @param {unknown} value
 * @returns {{ label: string, recoveredMs: number }}
 */
function recoveryOf(value) {
  if (typeof value === 'object' && value !== null && 'label' in value && 'recoveredMs' in value) {
    const { label, recoveredMs } = value;
    if (typeof label === 'string' && typeof recoveredMs === 'number') return { label, recoveredMs };
  }
  throw new Error(`not a recovery record: ${JSON.stringify(value)}`);
}

/** @type {Map<string, number[]>} */
const byCase = new Map();
/** @type {string[]} */
let lines = [];
try {
  lines = readFileSync(report, 'utf8').split('\n').filter(Boolean);
} catch {
  // no case finished
}
for (const line of lines) {
  const { label, recoveredMs } = recoveryOf(/** @type {unknown} */ (JSON.parse(line)));
  byCase.set(label, [...(byCase.get(label) ?? []), recoveredMs]);
}
rmSync(dir, { recursive: true, force: true });

/** @param {number[]} values */
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? 0;
  return sorted.length % 2 ? upper : Math.round(((sorted[middle - 1] ?? upper) + upper) / 2);
};
process.stdout.write(`\nRecovery: fault → every video decoding again (ms), ${runs} run(s)${failedRuns ? `, ${failedRuns} failed` : ''}\n\n`);
process.stdout.write('| case | runs | median | min | max |\n| --- | --- | --- | --- | --- |\n');
for (const [label, times] of byCase) {
  process.stdout.write(`| ${label} | ${times.length} | ${median(times)} | ${Math.min(...times)} | ${Math.max(...times)} |\n`);
}
process.exit(failedRuns === runs ? 1 : 0);
