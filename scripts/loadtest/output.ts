import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderReport } from './report/html.js';
import { missedThresholds, summarizeRun, type RunSummary, type Thresholds } from './stats.js';
import { formatSummary } from './summary.js';
import type { RunResult } from './types.js';

export interface WrittenOutput {
  summary: RunSummary;
  missed: string[];
  text: string;
  json: string;
  html: string;
}

/** Writes results.json (raw, mergeable) and report.html (self-contained) into `outDir`. */
export function writeOutputs(outDir: string, result: RunResult, thresholds: Thresholds): WrittenOutput {
  const summary = summarizeRun(result);
  const missed = missedThresholds(summary, thresholds);
  mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, 'results.json');
  const html = path.join(outDir, 'report.html');
  writeFileSync(json, `${JSON.stringify(result)}\n`);
  writeFileSync(html, renderReport(result, summary, thresholds, missed));
  return { summary, missed, text: formatSummary(result, summary, missed, thresholds), json, html };
}
