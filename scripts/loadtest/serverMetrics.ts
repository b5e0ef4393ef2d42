import { parsePrometheusText, samplesByLabel, sampleValue } from './prometheus.js';
import type { ServerSample } from './types.js';

/** Reads the server's Prometheus /metrics into a ServerSample. */
export async function scrapeServer(url: string, token: string | undefined, timeoutMs = 3000): Promise<ServerSample> {
  const response = await fetch(url, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.status === 401) throw new Error(`${url} wants a token (--metrics-token or METRICS_TOKEN)`);
  if (response.status === 403) throw new Error(`${url} serves only its own machine: set METRICS_TOKEN on the server and pass it with --metrics-token`);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return toServerSample(parsePrometheusText(await response.text()), Date.now());
}

export function toServerSample(samples: ReturnType<typeof parsePrometheusText>, t: number): ServerSample {
  const cpu = samplesByLabel(samples, 'conclave_worker_cpu_seconds_total', 'worker');
  const producers = samplesByLabel(samples, 'conclave_worker_producers', 'worker');
  const consumers = samplesByLabel(samples, 'conclave_worker_consumers', 'worker');
  return {
    t,
    workers: [...cpu.keys()]
      .sort((a, b) => Number(a) - Number(b))
      .map((worker) => ({ worker, cpuSeconds: cpu.get(worker) ?? 0, producers: producers.get(worker) ?? 0, consumers: consumers.get(worker) ?? 0 })),
    processCpuSeconds: sampleValue(samples, 'process_cpu_seconds_total') ?? null,
    rssBytes: sampleValue(samples, 'process_resident_memory_bytes') ?? null,
  };
}

/**
 * Polls /metrics while the run lasts. The first failure is kept (shown in the report) and polling
 * goes on, so a server that only answers some of the time still gets charted.
 */
export class ServerMetricsPoller {
  readonly samples: ServerSample[] = [];
  error: string | null = null;
  private busy = false;

  constructor(
    private readonly url: string,
    private readonly token: string | undefined,
  ) {}

  async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      this.samples.push(await scrapeServer(this.url, this.token));
    } catch (error) {
      this.error ??= error instanceof Error ? error.message : String(error);
    } finally {
      this.busy = false;
    }
  }
}
