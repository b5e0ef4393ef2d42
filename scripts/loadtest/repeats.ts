import { fmt, missedThresholds, percentile, summarizeRun, type Thresholds } from './stats.js';
import type { RunResult } from './types.js';

/**
 * The same test run several times on a noisy machine: how many runs passed, and the median run's
 * figures (each figure's median over the runs).
 */
export interface RepeatSummary {
  label: string;
  runs: number;
  passed: number;
  fpsMean: number | null;
  worstBotFps: number | null;
  worstBotLossPct: number | null;
  joinP50: number | null;
  joinP95: number | null;
  firstFrameP50: number | null;
  firstFrameP95: number | null;
  allVideoP50: number | null;
  allVideoP95: number | null;
  /** The busiest worker's mean CPU (% of a core), the Node process's, and the bots' machine's (% of all cores). */
  workerCpu: number | null;
  nodeCpu: number | null;
  botsMachineCpu: number | null;
}

const median = (values: (number | null | undefined)[]): number | null =>
  percentile(
    values.filter((value): value is number => value !== null && value !== undefined),
    50,
  );

export function summarizeRepeats(label: string, results: RunResult[], thresholds: Thresholds): RepeatSummary {
  const summaries = results.map(summarizeRun);
  return {
    label,
    runs: results.length,
    passed: summaries.filter((summary) => missedThresholds(summary, thresholds).length === 0).length,
    fpsMean: median(summaries.map((summary) => summary.fps.mean)),
    worstBotFps: median(summaries.map((summary) => summary.fps.min)),
    worstBotLossPct: median(summaries.map((summary) => summary.loss.max)),
    joinP50: median(summaries.map((summary) => summary.join.p50)),
    joinP95: median(summaries.map((summary) => summary.join.p95)),
    firstFrameP50: median(summaries.map((summary) => summary.firstFrame.p50)),
    firstFrameP95: median(summaries.map((summary) => summary.firstFrame.p95)),
    allVideoP50: median(summaries.map((summary) => summary.allVideo.p50)),
    allVideoP95: median(summaries.map((summary) => summary.allVideo.p95)),
    workerCpu: median(summaries.map((summary) => (summary.server ? Math.max(...summary.server.workers.map((worker) => worker.cpuMean ?? 0)) : null))),
    nodeCpu: median(summaries.map((summary) => summary.server?.processCpuMean)),
    botsMachineCpu: median(summaries.map((summary) => summary.machines[0]?.cpuMean)),
  };
}

export const REPEAT_HEADER = [
  '| test | runs | passed | fps (mean) | worst bot fps | worst bot loss % | join p50 / p95 ms | first frame p50 / p95 ms | all videos p50 / p95 ms | busiest worker CPU % | Node CPU % | bots’ machine CPU % |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
].join('\n');

/** One markdown row under REPEAT_HEADER. */
export function repeatRow(summary: RepeatSummary): string {
  const pair = (a: number | null, b: number | null): string => `${fmt(a)} / ${fmt(b)}`;
  return `| ${summary.label} | ${summary.runs} | ${summary.passed} | ${fmt(summary.fpsMean, 1)} | ${fmt(summary.worstBotFps, 1)} | ${fmt(summary.worstBotLossPct, 2)} | ${pair(summary.joinP50, summary.joinP95)} | ${pair(summary.firstFrameP50, summary.firstFrameP95)} | ${pair(summary.allVideoP50, summary.allVideoP95)} | ${fmt(summary.workerCpu)} | ${fmt(summary.nodeCpu)} | ${fmt(summary.botsMachineCpu)} |`;
}
