import { fmt, type BotSummary, type Distribution, type RunSummary } from './stats.js';
import type { RunResult } from './types.js';

const dist = (d: Distribution, unit = 'ms', digits = 0): string =>
  d.n === 0 ? '–' : `p50 ${fmt(d.p50, digits)} · p95 ${fmt(d.p95, digits)} · max ${fmt(d.max, digits)} ${unit} (n=${d.n})`;

/** The headline figures as label/value rows, shared by the terminal table and the HTML report. */
export function headlineRows(result: RunResult, summary: RunSummary): [string, string][] {
  const { settings } = result;
  const rows: [string, string][] = [
    ['server', settings.url],
    ['rooms × bots', `${settings.rooms.length} × ${settings.participantsPerRoom} (${settings.sendersPerRoom} sending per room)`],
    [
      "bots' window",
      `${settings.viewport.width}x${settings.viewport.height}${Object.entries(settings.query)
        .map(([key, value]) => `, ${key}=${value}`)
        .join('')}`,
    ],
    [
      'measured',
      `${fmt((summary.window.to - summary.window.from) / 1000)} s steady state, after ${fmt((result.allJoinedAt - result.startedAt) / 1000)} s of joining and ${
        result.settledAt != null
          ? `${fmt((result.settledAt - result.allJoinedAt) / 1000, 1)} s until every bot received every camera`
          : `${fmt(result.settings.settleSeconds)} s of waiting for every bot to receive every camera (it did not happen)`
      }`,
    ],
    ['joined', `${summary.joined}/${summary.bots}${summary.failed ? ` (${summary.failed} failed)` : ''}`],
    ['receiving every camera', `${summary.receivingAll}/${summary.bots}`],
    ['join time', dist(summary.join)],
    ['first remote frame', dist(summary.firstFrame)],
    ['all remote videos playing', dist(summary.allVideo)],
    ['received fps per bot', summary.fps.n ? `mean ${fmt(summary.fps.mean, 1)} · min ${fmt(summary.fps.min, 1)} · p50 ${fmt(summary.fps.p50, 1)}` : '–'],
    ['packet loss per bot', summary.loss.n ? `mean ${fmt(summary.loss.mean, 2)} % · max ${fmt(summary.loss.max, 2)} %` : '–'],
    ['jitter (video)', summary.jitterMs.n ? `mean ${fmt(summary.jitterMs.mean, 1)} · max ${fmt(summary.jitterMs.max, 1)} ms` : '–'],
    ['freezes (≥ 1 s without a frame)', `${summary.freezes} in ${summary.botsWithFreezes} bots`],
    [
      'received resolutions',
      Object.entries(summary.resolutions)
        .map(([size, count]) => `${size} ×${count}`)
        .join(', ') || '–',
    ],
  ];
  if (summary.server) {
    for (const worker of summary.server.workers) {
      rows.push([
        `server worker ${worker.worker} CPU`,
        `mean ${fmt(worker.cpuMean)} % · max ${fmt(worker.cpuMax)} % of a core · ${worker.consumersMax} consumers, ${worker.producersMax} producers`,
      ]);
    }
    rows.push([
      'server Node process',
      `CPU mean ${fmt(summary.server.processCpuMean)} % · max ${fmt(summary.server.processCpuMax)} % · RSS max ${fmt((summary.server.rssMaxBytes ?? 0) / 2 ** 20)} MB`,
    ]);
  } else {
    rows.push(['server metrics', result.serverMetricsError ?? 'none collected']);
  }
  for (const machine of summary.machines) {
    rows.push([`bots' machine ${machine.host}`, `CPU mean ${fmt(machine.cpuMean)} % · max ${fmt(machine.cpuMax)} % of ${machine.cores ?? '?'} cores`]);
  }
  return rows;
}

export const BOT_COLUMNS = [
  'bot',
  'room',
  'role',
  'join ms',
  'first frame ms',
  'all video ms',
  'video from',
  'fps',
  'min fps',
  'loss %',
  'jitter ms',
  'freezes',
  'note',
] as const;

export function botRow(bot: BotSummary): string[] {
  return [
    bot.name,
    bot.room,
    bot.sender ? 'send' : 'receive',
    fmt(bot.joinMs),
    fmt(bot.firstFrameMs),
    fmt(bot.allVideoMs),
    `${bot.videoFrom}/${bot.cameraPublishers}${bot.hidden ? ` (+${bot.hidden} hidden)` : ''}`,
    fmt(bot.fps, 1),
    fmt(bot.minConsumerFps, 1),
    fmt(bot.lossPct, 2),
    fmt(bot.jitterMs, 1),
    String(bot.freezes),
    bot.error ?? '',
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The stdout summary: headline figures, one line per bot (up to 40), and the verdict. */
export function formatSummary(result: RunResult, summary: RunSummary, missed: string[]): string {
  const headline = table(headlineRows(result, summary));
  const bots = summary.perBot.slice(0, 40).map(botRow);
  const more = summary.perBot.length > 40 ? `\n… and ${summary.perBot.length - 40} more bots (see the report)` : '';
  const verdict = missed.length ? `FAILED: ${missed.join('; ')}` : 'PASSED';
  return `${headline}\n\n${table([[...BOT_COLUMNS], ...bots])}${more}\n\n${verdict}\n`;
}
