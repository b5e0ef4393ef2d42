import os from 'node:os';
import type { MachineSample } from './types.js';

/** Busy share of this machine's cores between calls to sample() (the load generator's own CPU). */
export class MachineMonitor {
  readonly samples: MachineSample[] = [];
  private previous = MachineMonitor.times();

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
    const sample = { t: Date.now(), cpuPercent: (100 * busy) / total, cores: os.availableParallelism() };
    this.samples.push(sample);
    return sample;
  }
}
