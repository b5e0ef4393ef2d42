import { distribution } from './distribution.js';
import { DEFAULT_QUALITY_FPS, qualityByRoomSize, qualityLimit, syntheticFirstFrames, type QualityLimit } from './roomSize.js';
import { fmt, type BotSummary, type Distribution, type RunSummary, type Thresholds } from './stats.js';
import type { SyntheticSummary } from './synthetic/stats.js';
import type { SyntheticRunSummary } from './syntheticSummary.js';
import type { RunResult } from './types.js';

const dist = (d: Distribution, unit = 'ms', digits = 0): string =>
  d.n === 0 ? '–' : `p50 ${fmt(d.p50, digits)} · p95 ${fmt(d.p95, digits)} · max ${fmt(d.max, digits)} ${unit} (n=${d.n})`;

/** The quality limit in words: the largest room size that held, and where it first failed. */
export function qualityLimitText(limit: QualityLimit | null): string {
  if (!limit) return 'no bot measured a frame rate';
  const { failed } = limit;
  if (!failed) return `never failed, up to ${limit.largestRoom} per room`;
  const why = [failed.fpsMin !== null && failed.fpsMin < limit.minFps ? `worst bot ${fmt(failed.fpsMin, 1)} fps` : null, failed.frozen ? 'a freeze' : null]
    .filter((part) => part !== null)
    .join(' and ');
  const where = `${failed.largestRoom} (${why} at ${fmt(failed.t)} s)`;
  return limit.heldUpTo === null ? `failed from the first measured second, at ${where}` : `held up to ${limit.heldUpTo} per room; first failed at ${where}`;
}

/** The synthetic participants' figures, and the room size the bots' quality held up to. */
export function syntheticRows(result: RunResult, synthetic: SyntheticRunSummary, minFps: number): [string, string][] {
  const settings = result.settings.synthetic;
  const newcomers = syntheticFirstFrames(result);
  const missing = newcomers.shown - newcomers.delays.length;
  const rows: [string, string][] = [
    [
      'synthetic participants',
      `${synthetic.joined}/${synthetic.total} joined${synthetic.failed ? ` (${synthetic.failed} failed)` : ''} · ${synthetic.sending} sending${
        settings
          ? ` · ${settings.perRoom} per room, up to ${settings.maxVideos} videos each, ${settings.threads} thread${settings.threads === 1 ? '' : 's'}`
          : ''
      }`,
    ],
    ['synthetic packet loss', synthetic.loss.n ? `p50 ${fmt(synthetic.loss.p50, 2)} % · max ${fmt(synthetic.loss.max, 2)} % (n=${synthetic.loss.n})` : '–'],
    ['synthetic received', synthetic.receivedKbps.n ? `p50 ${fmt(synthetic.receivedKbps.p50)} · min ${fmt(synthetic.receivedKbps.min)} kbit/s` : '–'],
    ['synthetic jitter, layer switches', `max ${fmt(synthetic.jitterMsMax, 1)} ms · ${synthetic.layerSwitches} layer switches`],
  ];
  if (newcomers.shown > 0) {
    rows.push([
      'synthetic camera → bots, first frame',
      `${dist(distribution(newcomers.delays))}${missing > 0 ? ` · ${missing} of ${newcomers.shown} never arrived` : ''}`,
    ]);
  }
  rows.push([`every bot ≥ ${minFps} fps, no freeze (room size)`, qualityLimitText(qualityLimit(qualityByRoomSize(result), minFps))]);
  return rows;
}

/**
 * The headline figures as label/value rows, shared by the terminal table and the HTML report.
 * @param thresholds --min-fps sets the frame rate of the room-size limit (else DEFAULT_QUALITY_FPS).
 */
export function headlineRows(result: RunResult, summary: RunSummary, thresholds?: Thresholds): [string, string][] {
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
  if (summary.synthetic) rows.push(...syntheticRows(result, summary.synthetic, thresholds?.minFps ?? DEFAULT_QUALITY_FPS));
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
    const tool = machine.toolCpuMean === null ? '' : ` · this tool ${fmt(machine.toolCpuMean)} % of a core`;
    rows.push([`bots' machine ${machine.host}`, `CPU mean ${fmt(machine.cpuMean)} % · max ${fmt(machine.cpuMax)} % of ${machine.cores ?? '?'} cores${tool}`]);
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

export const SYNTHETIC_COLUMNS = [
  'synthetic',
  'room',
  'role',
  'join ms',
  'loss % audio / video',
  'rx kbit/s',
  'fps per video',
  'videos / audios',
  'jitter max ms',
  'layer switches',
  'note',
] as const;

export function syntheticRow(participant: SyntheticSummary): string[] {
  return [
    participant.name,
    participant.room,
    participant.sender ? 'send' : 'receive',
    fmt(participant.joinMs),
    `${fmt(participant.audioLossPct, 2)} / ${fmt(participant.videoLossPct, 2)}`,
    fmt(participant.receivedKbps),
    fmt(participant.videoFps, 1),
    `${participant.videoFlowing} / ${participant.audioFlowing}`,
    fmt(participant.jitterMsMax, 1),
    String(participant.layerSwitches),
    participant.error ?? '',
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

/** The stdout summary: headline figures, one line per bot (up to 40), every synthetic participant, and the verdict. */
export function formatSummary(result: RunResult, summary: RunSummary, missed: string[], thresholds?: Thresholds): string {
  const headline = table(headlineRows(result, summary, thresholds));
  const bots = summary.perBot.slice(0, 40).map(botRow);
  const more = summary.perBot.length > 40 ? `\n… and ${summary.perBot.length - 40} more bots (see the report)` : '';
  const verdict = missed.length ? `FAILED: ${missed.join('; ')}` : 'PASSED';
  const synthetic = summary.synthetic ? `\n\n${table([[...SYNTHETIC_COLUMNS], ...summary.synthetic.perParticipant.map(syntheticRow)])}` : '';
  return `${headline}\n\n${table([[...BOT_COLUMNS], ...bots])}${more}${synthetic}\n\n${verdict}\n`;
}
