import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTestCli } from '../../scripts/loadtest/main.js';
import { summarizeRun } from '../../scripts/loadtest/stats.js';
import type { RunResult } from '../../scripts/loadtest/types.js';
import { CLIENT_DIST, useServer } from '../helpers/server.js';

const TOKEN = 'loadtest-metrics-token-0123456789';
const AUTH_SECRET = 'loadtest-join-secret-0123456789';

/**
 * The load-test tool against a real local server that requires join tokens (as a production one
 * would): three bots in headless Chromium for ~15 s, each joining with a token the tool signed.
 */
describe('npm run loadtest', () => {
  const server = useServer({ CLIENT_DIST, METRICS_TOKEN: TOKEN, AUTH_SECRET });
  let out: string;

  beforeAll(() => {
    out = mkdtempSync(path.join(os.tmpdir(), 'conclave-loadtest-'));
  });

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('joins three bots, sees every bot receive the others’ video, reads server CPU, and writes JSON and an HTML report', async () => {
    const code = await loadTestCli([
      '--url',
      server.url,
      '--room',
      'loadtest-it',
      '--participants',
      '3',
      '--duration',
      '6',
      // A bot every 5 s, so the last one finds cameras already in the room to time, even where a
      // join takes several seconds (a loaded machine; this file runs alone, after the paired files).
      '--join-rate',
      '0.2',
      '--per-browser',
      '3',
      '--metrics-token',
      TOKEN,
      '--auth-secret',
      AUTH_SECRET,
      '--max-join-ms',
      '20000',
      '--out',
      out,
      '--quiet',
    ]);
    expect(code).toBe(0);

    const result = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as RunResult;
    expect(result.bots).toHaveLength(3);
    const summary = summarizeRun(result);
    expect(summary.joined).toBe(3);
    for (const bot of summary.perBot) {
      expect(bot.error, bot.name).toBeNull();
      expect(bot.joinMs, bot.name).toBeGreaterThan(0);
      expect(bot.videoFrom, `${bot.name} receives both others' cameras`).toBe(2);
      expect(bot.receivingAll, bot.name).toBe(true);
      expect(bot.fps ?? 0, bot.name).toBeGreaterThan(1);
    }
    // The last bot found the first one's camera (at least) already in the room, and timed its arrival.
    const last = summary.perBot.at(-1)!;
    expect(last.expected).toBeGreaterThanOrEqual(1);
    expect(last.firstFrameMs).toBeGreaterThan(0);
    expect(last.allVideoMs).toBeGreaterThanOrEqual(last.firstFrameMs!);

    // The measured window began once every bot decoded every camera (the tool waited for that).
    expect(result.settledAt).toBeGreaterThanOrEqual(result.allJoinedAt);

    expect(result.serverMetricsError).toBeNull();
    expect(summary.server?.workers).toHaveLength(1);
    expect(summary.server?.workers[0]?.consumersMax).toBe(12); // 3 bots × 2 others × (camera + mic)
    expect(summary.server?.processCpuMean).toBeGreaterThan(0);

    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('PASSED');
    expect(html).not.toMatch(/<script|https?:\/\/(?!localhost|127\.0\.0\.1|www\.w3\.org)/);
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);
  }, 120_000);
});
