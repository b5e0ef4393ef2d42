import { fmt, intervals, moment, serverIntervals } from './stats.js';
import { syntheticNow } from './synthetic/stats.js';
import type { BotRecord, MachineSample, ServerSample, SyntheticRecord } from './types.js';

/** The live status: joined / playing / mean fps / loss / server CPU, from each bot's latest interval. */
export function progressLine(
  elapsedMs: number,
  bots: BotRecord[],
  total: number,
  server: ServerSample[],
  machine: MachineSample | undefined,
  synthetic?: { records: SyntheticRecord[]; total: number },
): string {
  const latest = bots.flatMap((bot) => intervals(bot.samples.slice(-2)));
  const now = moment(latest);
  const parts = [
    `[${fmt(elapsedMs / 1000).padStart(4)} s]`,
    `joined ${bots.filter((bot) => bot.joinMs !== null).length}/${total}`,
    `playing ${now.playing}/${total}`,
    `fps ${fmt(now.fpsMean, 1)}${now.fpsMin === null ? '' : ` (min ${fmt(now.fpsMin, 1)})`}`,
    `loss ${fmt(now.lossPct, 2)}%`,
  ];
  const last = serverIntervals(server.slice(-2))[0];
  if (last) {
    const workers = last.workers.map((worker) => `w${worker.worker} ${fmt(worker.cpuPercent)}%`).join(' ');
    parts.push(`server cpu ${workers} node ${fmt(last.processCpuPercent)}%`);
  }
  if (synthetic) {
    const now = syntheticNow(synthetic.records);
    parts.push(
      `synthetic ${now.joined}/${synthetic.total} (${now.sending} sending) rx ${fmt(now.receivedMbps, 1)} Mbit/s loss ${now.lossPct === null ? '–' : fmt(now.lossPct, 2)}%`,
    );
  }
  if (machine)
    parts.push(
      `bots' machine ${fmt(machine.cpuPercent)}%${machine.toolCpuPercent === undefined ? '' : ` (this tool ${fmt(machine.toolCpuPercent)}% of a core)`}`,
    );
  return parts.join(' · ');
}
