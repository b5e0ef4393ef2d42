import { describe, expect, it } from 'vitest';
import { renderReport } from '../../scripts/loadtest/report/html.js';
import { cdfSeries, escapeXml, histogramBins, lineChart, niceStep, ticks } from '../../scripts/loadtest/report/svg.js';
import { missedThresholds, summarizeRun } from '../../scripts/loadtest/stats.js';
import { formatSummary } from '../../scripts/loadtest/summary.js';
import { botSeries } from '../../scripts/loadtest/timeseries.js';
import { bot, result, samplesFor, T0 } from './fixtures.js';

const run = result([
  bot('bot-1', { samples: samplesFor([{ consumerId: 'c1', peerId: 'bot-2', fps: 20 }], T0 + 1000, 19) }),
  bot('bot-2', {
    startedAt: T0 + 1500,
    joinMs: 1800,
    presentAtJoin: ['bot-1'],
    firstFrames: { 'bot-1': 2100 },
    samples: samplesFor([{ consumerId: 'c2', peerId: 'bot-1', fps: 18 }], T0 + 2000, 18),
  }),
]);
const thresholds = { maxJoinMs: 3000, minFps: 15, maxLossPct: 2 };

describe('load-test report', () => {
  it('chart axes use round steps', () => {
    expect(niceStep(97)).toBe(20);
    expect(niceStep(0.9)).toBe(0.2);
    expect(ticks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(histogramBins([100, 120, 180, 950])).toEqual(expect.arrayContaining([expect.objectContaining({ count: 3 }), expect.objectContaining({ count: 1 })]));
    expect(histogramBins([100, 120, 180, 950]).reduce((sum, bin) => sum + bin.count, 0)).toBe(4);
    expect(cdfSeries('x', [3, 1]).points).toEqual([
      [1, 0],
      [1, 50],
      [3, 50],
      [3, 100],
    ]);
  });

  it('a line chart is one SVG with a path per series, breaking at missing points, and escaped text', () => {
    const svg = lineChart({ title: 'fps <all> & "bots"', xLabel: 's', yLabel: 'fps' }, [
      {
        name: 'mean',
        points: [
          [0, 10],
          [1, null],
          [2, 12],
          [3, 14],
        ],
      },
    ]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg).toContain(escapeXml('fps <all> & "bots"'));
    expect(svg).not.toContain('<all>');
    const path = /<path d="([^"]+)"/.exec(svg)![1]!;
    expect(path.match(/M/g)).toHaveLength(2);
  });

  it('the time series has one value per bot per second', () => {
    const series = botSeries(run);
    const steady = series.filter((point) => point.t >= 5);
    expect(steady.every((point) => point.playing <= 2 && point.joined === 2)).toBe(true);
    expect(steady.at(-1)).toMatchObject({ fpsMean: 19, fpsMin: 18, lossPct: 0 });
  });

  it('renders a self-contained HTML report: verdict, headline figures, charts, a row per bot', () => {
    const summary = summarizeRun(run);
    const html = renderReport(run, summary, thresholds, missedThresholds(summary, thresholds));
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('PASSED');
    expect(html).toContain('thresholds: join ≤ 3000 ms, fps ≥ 15, loss ≤ 2 %');
    expect(html.match(/<svg /g)?.length).toBeGreaterThanOrEqual(7);
    for (const title of ['Join time', 'Received video fps per bot', 'Packet loss', 'Server CPU (% of one core)']) expect(html).toContain(title);
    expect(html).toContain('<td>bot-2</td>');
    expect(html).toContain('server worker 1 CPU');
    // Self-contained: no scripts, no stylesheets or images from elsewhere.
    expect(html).not.toMatch(/<script|<link|src=|url\(/);
  });

  it('says FAILED and why, in the report and on stdout', () => {
    const strict = { maxJoinMs: 1000, minFps: 19.5, maxLossPct: null };
    const summary = summarizeRun(run);
    const missed = missedThresholds(summary, strict);
    expect(missed).toHaveLength(2);
    expect(renderReport(run, summary, strict, missed)).toContain('FAILED');
    const text = formatSummary(run, summary, missed);
    expect(text).toMatch(/^server\s+http:\/\/localhost:3000$/m);
    expect(text).toMatch(/^bot-2\s+r\s+send\s+1800\s+2100\s+2100\s+1\/1\s+18\.0/m);
    expect(text).toMatch(/FAILED: slowest join 1800 ms > --max-join-ms 1000; 1 bots below --min-fps 19.5/);
  });
});
