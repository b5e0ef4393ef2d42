import type { WorkerPool } from '../media/WorkerPool.js';
import type { NodeLoad } from './NodeRegistry.js';

/** This node's load, read at each heartbeat. */
export function loadOf(pool: WorkerPool): () => NodeLoad {
  const sampler = new NodeLoadSampler(pool);
  return () => sampler.current();
}

/**
 * This node's load for the registry, from its worker pool: live workers, consumers, and the
 * workers' CPU use since the last sample (user + system time from getResourceUsage over wall time
 * and workers). The CPU figure is refreshed in the background, so reading it never waits.
 */
export class NodeLoadSampler {
  private cpu = 0;
  private lastCpuMs = new Map<number, number>();
  private lastAt = Date.now();

  constructor(private readonly pool: WorkerPool) {}

  current(): NodeLoad {
    const live = this.pool.live;
    void this.sampleCpu();
    return { workers: live.length, consumers: live.reduce((sum, entry) => sum + entry.consumers, 0), cpu: this.cpu };
  }

  private async sampleCpu(): Promise<void> {
    const live = this.pool.live;
    const usage = await Promise.all(
      live.map(async (entry) => {
        const { ru_utime, ru_stime } = await entry.worker.getResourceUsage().catch(() => ({ ru_utime: 0, ru_stime: 0 }));
        return [entry.worker.pid, ru_utime + ru_stime] as const;
      }),
    );
    const now = Date.now();
    const elapsed = now - this.lastAt;
    // A replaced worker starts from zero: only workers seen last time count towards the figure.
    let used = 0;
    for (const [pid, cpuMs] of usage) used += Math.max(0, cpuMs - (this.lastCpuMs.get(pid) ?? cpuMs));
    if (elapsed > 0 && live.length > 0) this.cpu = Math.min(1, used / (elapsed * live.length));
    this.lastCpuMs = new Map(usage);
    this.lastAt = now;
  }
}
