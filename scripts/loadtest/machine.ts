import os from 'node:os';
import type { MachineSample } from './types.js';

/** Busy share of this machine's cores between calls to sample() (the load generator's own CPU). */
export class MachineMonitor {
  readonly samples: MachineSample[] = [];
  private previous = MachineMonitor.times();
  private previousTool = { usage: process.cpuUsage(), at: performance.now() };

  private static times(): { busy: number; total: number } {
    let busy = 0;
    let total = 0;
    for (const { times } of os.cpus()) {
      const all = times.user + times.nice + times.sys + times.idle + times.irq;
      busy += all - times.idle;
      total += all;
    }
    return { busy, total };
  }

  sample(): MachineSample | undefined {
    const now = MachineMonitor.times();
    const total = now.total - this.previous.total;
    const busy = now.busy - this.previous.busy;
    this.previous = now;
    if (total <= 0) return undefined;
    // This process alone, every thread of it (the synthetic participants run in worker threads).
    const usage = process.cpuUsage(this.previousTool.usage);
    const at = performance.now();
    const toolCpuPercent = (100 * (usage.user + usage.system)) / 1000 / (at - this.previousTool.at);
    this.previousTool = { usage: process.cpuUsage(), at };
    const sample = { t: Date.now(), cpuPercent: (100 * busy) / total, cores: os.availableParallelism(), toolCpuPercent };
    this.samples.push(sample);
    return sample;
  }
}
