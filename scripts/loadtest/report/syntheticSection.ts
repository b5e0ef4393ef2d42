import { mean } from '../distribution.js';
import { cpuByRoomSize, DEFAULT_QUALITY_FPS, NEWCOMER_GRACE_MS, qualityByRoomSize, qualityLimit, syntheticFirstFrames } from '../roomSize.js';
import type { Thresholds } from '../stats.js';
import { SYNTHETIC_COLUMNS, syntheticRow, syntheticRows } from '../summary.js';
import type { SyntheticRunSummary } from '../syntheticSummary.js';
import type { RunResult } from '../types.js';
import { alongX, cdfSeries, escapeXml, histogram, lineChart, PALETTE, type Series } from './svg.js';

const lowest = (values: number[]): number => Math.min(...values);

/** Server CPU per worker and for the Node process, against how many had joined (mean of the samples at each count). */
function cpuChart(result: RunResult): string | null {
  const points = cpuByRoomSize(result);
  if (points.length === 0) return null;
  const workers = [...new Set(points.flatMap((point) => Object.keys(point.workers)))].sort();
  const series: Series[] = [
    ...workers.map((worker): Series => ({
      name: `worker ${worker}`,
      points: alongX(
        points.map((point) => [point.participants, point.workers[worker] ?? null]),
        mean,
      ),
    })),
    {
      name: 'server Node',
      points: alongX(
        points.map((point) => [point.participants, point.processCpu]),
        mean,
      ),
      color: '#6b7280',
      dashed: true,
    },
  ];
  return lineChart(
    { title: 'Server CPU against participants (bots + synthetic joined)', xLabel: 'participants in the run', yLabel: '% of a core', yMin: 0, integerX: true },
    series,
  );
}

/** The bots' fps against the fullest room's size, with the threshold and where it first failed. */
function qualityChart(result: RunResult, minFps: number): string | null {
  const points = qualityByRoomSize(result);
  const limit = qualityLimit(points, minFps);
  if (!limit) return null;
  return lineChart(
    {
      title: "Bots' received fps against room size",
      xLabel: 'participants in the fullest room',
      yLabel: 'fps',
      yMin: 0,
      integerX: true,
      references: [{ y: minFps, label: `${minFps} fps` }],
      markers: limit.failed ? [{ x: limit.failed.largestRoom, label: 'first failed' }] : [],
    },
    [
      {
        name: 'mean',
        points: alongX(
          points.map((point) => [point.largestRoom, point.fpsMean]),
          mean,
        ),
      },
      {
        name: 'worst bot',
        points: alongX(
          points.map((point) => [point.largestRoom, point.fpsMin]),
          lowest,
        ),
        color: PALETTE[1],
        dashed: true,
      },
    ],
  );
}

function distributionCharts(result: RunResult, synthetic: SyntheticRunSummary): string[] {
  const participants = synthetic.perParticipant;
  const losses = participants.flatMap((participant) => (participant.lossPct === null ? [] : [participant.lossPct]));
  const received = (sender: boolean): number[] =>
    participants.flatMap((participant) => (participant.sender === sender && participant.receivedKbps !== null ? [participant.receivedKbps] : []));
  const charts = [
    histogram({ title: 'Synthetic participants: packet loss over the steady state', xLabel: '% lost (audio and video)', yLabel: 'participants' }, losses),
    lineChart({ title: 'Synthetic participants: received bitrate (share of them)', xLabel: 'kbit/s', yLabel: '% of participants', yMin: 0, yMax: 100 }, [
      cdfSeries('receivers', received(false), PALETTE[0]),
      cdfSeries('senders', received(true), PALETTE[2]),
    ]),
  ];
  const { delays } = syntheticFirstFrames(result);
  if (delays.length > 0) {
    charts.push(
      lineChart(
        {
          title: "A synthetic sender's camera at the bots: first frame",
          xLabel: 'ms after the sender joined',
          yLabel: '% of (bot, sender)',
          yMin: 0,
          yMax: 100,
        },
        [cdfSeries('first frame', delays, PALETTE[3])],
      ),
    );
  }
  return charts;
}

/** The "Synthetic participants" part of the report: figures, charts, and a row per participant. */
export function syntheticSection(result: RunResult, synthetic: SyntheticRunSummary, thresholds: Thresholds): string {
  const minFps = thresholds.minFps ?? DEFAULT_QUALITY_FPS;
  const figures = syntheticRows(result, synthetic, minFps)
    .map(([name, value]) => `<tr><th>${escapeXml(name)}</th><td>${escapeXml(value)}</td></tr>`)
    .join('');
  const charts = [cpuChart(result), qualityChart(result, minFps), ...distributionCharts(result, synthetic)].filter((chart) => chart !== null);
  const numeric = new Set([3, 5, 6, 8, 9]);
  const rows = synthetic.perParticipant
    .map(
      (participant) =>
        `<tr>${syntheticRow(participant)
          .map((cell, i) => `<td${numeric.has(i) ? ' class="num"' : ''}>${escapeXml(cell)}</td>`)
          .join('')}</tr>`,
    )
    .join('');
  return `<h2>Synthetic participants</h2>
<p class="meta">Participants in Node (werift) with no browser: they join after the bots, so the room grows while the bots measure what people see. Loss, bitrate, fps and jitter are over the steady state; “fps per video” is frames received per forwarded video. The bots’ fps against room size counts a newcomer’s camera from ${NEWCOMER_GRACE_MS / 1000} s after it joined.</p>
<table class="headline">${figures}</table>
<div class="charts">${charts.join('\n')}</div>
<table><thead><tr>${SYNTHETIC_COLUMNS.map((column) => `<th>${escapeXml(column)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>
`;
}
