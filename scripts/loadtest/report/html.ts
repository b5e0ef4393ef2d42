import type { RunSummary, Thresholds } from '../stats.js';
import { BOT_COLUMNS, botRow, headlineRows } from '../summary.js';
import { botSeries, machineSeries, serverSeries } from '../timeseries.js';
import type { RunResult } from '../types.js';
import { syntheticSection } from './syntheticSection.js';
import { cdfSeries, escapeXml, histogram, lineChart, PALETTE, type Series } from './svg.js';

const STYLE = `
  body { font: 14px/1.45 system-ui, sans-serif; color: #111827; margin: 24px auto; max-width: 1340px; padding: 0 16px; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  h2 { font-size: 16px; margin: 28px 0 8px; }
  .meta { color: #4b5563; margin-bottom: 12px; }
  .verdict { display: inline-block; padding: 4px 10px; border-radius: 6px; font-weight: 600; }
  .pass { background: #dcfce7; color: #166534; }
  .fail { background: #fee2e2; color: #991b1b; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(640px, 1fr)); gap: 12px; }
  .charts svg { border: 1px solid #e5e7eb; border-radius: 6px; background: #fff; max-width: 100%; height: auto; }
  table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { padding: 3px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; vertical-align: top; }
  th { background: #f9fafb; font-weight: 600; }
  td.num { text-align: right; }
  .headline th { width: 240px; }
`;

function thresholdText(thresholds: Thresholds): string {
  const parts = [
    thresholds.maxJoinMs === null ? null : `join ≤ ${thresholds.maxJoinMs} ms`,
    thresholds.minFps === null ? null : `fps ≥ ${thresholds.minFps}`,
    thresholds.maxLossPct === null ? null : `loss ≤ ${thresholds.maxLossPct} %`,
  ].filter((part) => part !== null);
  return parts.length ? `thresholds: ${parts.join(', ')}` : 'no thresholds set';
}

function charts(result: RunResult, summary: RunSummary, thresholds: Thresholds): string[] {
  const bots = botSeries(result);
  const steady = [{ x: (summary.window.from - result.startedAt) / 1000, label: 'steady state' }];
  const joins = summary.perBot.flatMap((bot) => (bot.joinMs === null ? [] : [bot.joinMs]));
  const firstFrames = summary.perBot.flatMap((bot) => (bot.firstFrameMs === null ? [] : [bot.firstFrameMs]));
  const allVideo = summary.perBot.flatMap((bot) => (bot.allVideoMs === null ? [] : [bot.allVideoMs]));
  const out = [
    histogram({ title: 'Join time (page load → joined)', xLabel: 'ms', yLabel: 'bots' }, joins),
    lineChart(
      { title: 'Time to join, first remote frame, all remote videos (share of bots)', xLabel: 'ms since page load', yLabel: '% of bots', yMin: 0, yMax: 100 },
      [cdfSeries('join', joins, PALETTE[0]), cdfSeries('first frame', firstFrames, PALETTE[2]), cdfSeries('all videos', allVideo, PALETTE[3])],
    ),
    lineChart(
      {
        title: 'Received video fps per bot',
        xLabel: 's since start',
        yLabel: 'fps',
        yMin: 0,
        markers: steady,
        references: thresholds.minFps === null ? [] : [{ y: thresholds.minFps, label: `--min-fps ${thresholds.minFps}` }],
      },
      [
        { name: 'mean', points: bots.map((point) => [point.t, point.fpsMean]) },
        { name: 'worst bot', points: bots.map((point) => [point.t, point.fpsMin]), color: PALETTE[1], dashed: true },
      ],
    ),
    lineChart(
      {
        title: 'Packet loss (all bots, all consumers)',
        xLabel: 's since start',
        yLabel: '%',
        yMin: 0,
        markers: steady,
        references: thresholds.maxLossPct === null ? [] : [{ y: thresholds.maxLossPct, label: `--max-loss ${thresholds.maxLossPct}%` }],
      },
      [{ name: 'loss', points: bots.map((point) => [point.t, point.lossPct]), color: PALETTE[1] }],
    ),
    lineChart({ title: 'Bots joined and playing every remote camera', xLabel: 's since start', yLabel: 'bots', yMin: 0, markers: steady }, [
      { name: 'joined', points: bots.map((point) => [point.t, point.joined]) },
      { name: 'playing', points: bots.map((point) => [point.t, point.playing]), color: PALETTE[2] },
    ]),
  ];
  const server = serverSeries(result);
  const machines = machineSeries(result);
  const workerNames = [...new Set(server.flatMap((point) => Object.keys(point.workers)))].sort();
  const cpuSeries: Series[] = [
    ...workerNames.map((name): Series => ({ name: `worker ${name}`, points: server.map((point) => [point.t, point.workers[name] ?? null]) })),
    ...(server.length
      ? [{ name: 'server Node', points: server.map((point): [number, number | null] => [point.t, point.processCpu]), color: '#6b7280', dashed: true }]
      : []),
  ];
  if (cpuSeries.length) {
    out.push(lineChart({ title: 'Server CPU (% of one core)', xLabel: 's since start', yLabel: '% of a core', yMin: 0, markers: steady }, cpuSeries));
    out.push(
      lineChart({ title: 'Server consumers and memory', xLabel: 's since start', yLabel: 'count / MB', yMin: 0, markers: steady }, [
        { name: 'consumers', points: server.map((point) => [point.t, point.consumers]) },
        { name: 'RSS MB', points: server.map((point) => [point.t, point.rssMb]), color: '#6b7280', dashed: true },
      ]),
    );
  }
  out.push(
    lineChart(
      { title: "Bots' machine CPU (% of all its cores)", xLabel: 's since start', yLabel: '%', yMin: 0, yMax: 100, markers: steady },
      machines.map((machine) => ({ name: machine.host, points: machine.points.map((point) => [point.t, point.cpu]) })),
    ),
  );
  return out;
}

/** The self-contained HTML report: headline table, charts as inline SVG, one row per bot (and per synthetic participant). */
export function renderReport(result: RunResult, summary: RunSummary, thresholds: Thresholds, missed: string[]): string {
  const when = new Date(result.startedAt)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  // The synthetic participants' figures head their own section instead.
  const { synthetic, ...botsAndServer } = summary;
  const headline = headlineRows(result, botsAndServer, thresholds)
    .map(([name, value]) => `<tr><th>${escapeXml(name)}</th><td>${escapeXml(value)}</td></tr>`)
    .join('');
  const numeric = new Set([3, 4, 5, 7, 8, 9, 10, 11]);
  const botRows = summary.perBot
    .map(
      (bot) =>
        `<tr>${botRow(bot)
          .map((cell, i) => `<td${numeric.has(i) ? ' class="num"' : ''}>${escapeXml(cell)}</td>`)
          .join('')}</tr>`,
    )
    .join('');
  const verdict = missed.length
    ? `<span class="verdict fail">FAILED</span> ${escapeXml(missed.join('; '))}`
    : `<span class="verdict pass">PASSED</span> ${escapeXml(thresholdText(thresholds))}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conclave load test ${escapeXml(when)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Conclave load test</h1>
<div class="meta">${escapeXml(when)} · ${escapeXml(result.sources.map((source) => `${source.host} (${source.bots} bots, prefix ${source.botPrefix})`).join(' + '))}</div>
<p>${verdict}</p>
<table class="headline">${headline}</table>
<h2>Charts</h2>
<div class="charts">${charts(result, summary, thresholds).join('\n')}</div>
<h2>Bots</h2>
<p class="meta">Times are from the bot’s page load. “First frame” and “all video” count only the cameras already in the room when the bot’s page started loading; fps, loss, jitter and freezes are over the steady state.</p>
<table><thead><tr>${BOT_COLUMNS.map((column) => `<th>${escapeXml(column)}</th>`).join('')}</tr></thead><tbody>${botRows}</tbody></table>
${synthetic ? syntheticSection(result, synthetic, thresholds) : ''}<p class="meta">Raw data: results.json next to this file.</p>
</body>
</html>
`;
}
