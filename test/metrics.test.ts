import { afterAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../scripts/loadtest/prometheus.js';
import { TestParticipant } from './helpers/participant.js';
import { eventually, startTestServer, useServer } from './helpers/server.js';

const TOKEN = 'scrape-me-if-you-can-0123456789';

describe('GET /metrics', () => {
  describe('with METRICS_TOKEN set', () => {
    const server = useServer({ NUM_WORKERS: '2', METRICS_TOKEN: TOKEN });
    const people: TestParticipant[] = [];

    afterAll(async () => {
      await Promise.all(people.map((person) => person.close()));
    });

    const scrape = (authorization?: string): Promise<Response> => fetch(`${server.url}/metrics`, { headers: authorization ? { authorization } : {} });

    it('refuses a scraper without the token, or with a wrong one', async () => {
      const anonymous = await scrape();
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await scrape(`Bearer ${TOKEN.slice(0, -1)}x`)).status).toBe(401);
      expect((await scrape(`Bearer ${TOKEN}-and-more`)).status).toBe(401);
      expect((await scrape(`Basic ${TOKEN}`)).status).toBe(401);
    });

    it('answers the Prometheus text format: worker CPU, per-worker producers and consumers, Node process CPU and memory', async () => {
      const ana = await TestParticipant.connect(server.url, 'Ana');
      const ben = await TestParticipant.connect(server.url, 'Ben');
      people.push(ana, ben);
      await ana.join('metrics-room');
      await ben.join('metrics-room');
      await ana.produce('camera');
      await ana.produce('mic');
      await ben.waitFor('newConsumer', (consumer) => consumer.source === 'mic');

      const response = await scrape(`Bearer ${TOKEN}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const text = await response.text();
      expect(text).toContain('# TYPE conclave_worker_cpu_seconds_total counter');
      expect(text).toContain('# TYPE conclave_worker_consumers gauge');
      expect(text).toContain('# TYPE process_cpu_seconds_total counter');

      const samples = parsePrometheusText(text);
      const [room] = await server.rooms.list();
      const host = String(room!.host.index);
      expect(sampleValue(samples, 'conclave_worker_producers', { worker: host })).toBe(2);
      expect(sampleValue(samples, 'conclave_worker_consumers', { worker: host })).toBe(2);
      expect(sampleValue(samples, 'conclave_rooms')).toBe(1);
      expect(sampleValue(samples, 'conclave_peers')).toBe(2);
      expect(sampleValue(samples, 'conclave_workers_alive')).toBe(2);
      for (const worker of ['0', '1']) {
        expect(sampleValue(samples, 'conclave_worker_cpu_seconds_total', { worker })).toBeGreaterThan(0);
      }
      expect(sampleValue(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(sampleValue(samples, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
      // Which Node and mediasoup run is for the operator's scrape, not for the public /healthz.
      expect(sampleValue(samples, 'conclave_build_info', { node: process.versions.node, mediasoup: '3.27.1' })).toBe(1);
      expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
      const health = await (await fetch(`${server.url}/healthz`)).text();
      expect(health).not.toContain(process.versions.node);
      expect(health).not.toContain('3.27.1');
    });

    it('counts worker CPU up between scrapes', async () => {
      const cpu = async (): Promise<number> =>
        sampleValue(parsePrometheusText(await (await scrape(`Bearer ${TOKEN}`)).text()), 'conclave_worker_cpu_seconds_total', { worker: '0' }) ?? 0;
      const first = await cpu();
      const { worker } = server.pool.live.find((entry) => entry.index === 0)!;
      // Give worker 0 something to do, then it must have used more CPU.
      await eventually(
        async () => {
          for (let i = 0; i < 200; i++) await worker.dump();
          return (await cpu()) > first;
        },
        { timeoutMs: 15_000, what: 'worker 0 CPU time to grow' },
      );
    });
  });

  describe('without METRICS_TOKEN', () => {
    it('serves this machine, but not what a proxy forwards from elsewhere', async () => {
      const server = await startTestServer();
      try {
        const response = await fetch(`${server.url}/metrics`);
        expect(response.status).toBe(200);
        expect(sampleValue(parsePrometheusText(await response.text()), 'conclave_workers_alive')).toBe(1);
        const proxyHeaders: Record<string, string>[] = [{ 'x-forwarded-for': '203.0.113.7' }, { forwarded: 'for=203.0.113.7' }, { via: '1.1 caddy' }];
        for (const header of proxyHeaders) {
          const proxied = await fetch(`${server.url}/metrics`, { headers: header });
          expect(proxied.status, JSON.stringify(header)).toBe(403);
          expect(await proxied.text()).toMatch(/set METRICS_TOKEN/);
        }
      } finally {
        await server.close();
      }
    });
  });
});
