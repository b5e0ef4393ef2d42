import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { eventually, isAlive, startTestServer, useServer } from './helpers/server.js';

const root = path.resolve(import.meta.dirname, '..');

describe('server', () => {
  const server = useServer({ NUM_WORKERS: '2' });

  it('reports health: workers alive, rooms, peers, version', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', workers: { total: 2, alive: 2 }, rooms: 0, peers: 0 });
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('serves the client app', async () => {
    const response = await fetch(`${server.url}/?room=abc&name=Ana`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<div id="app">');
  });

  it('greets a socket with the router capabilities', async () => {
    const socket = io(server.url, { transports: ['websocket'] });
    const welcome = await new Promise<{ routerRtpCapabilities: { codecs?: { mimeType: string }[] } }>((resolve) => socket.once('welcome', resolve));
    socket.close();
    const mimeTypes = welcome.routerRtpCapabilities.codecs?.map((codec) => codec.mimeType) ?? [];
    expect(mimeTypes).toEqual(expect.arrayContaining(['audio/opus', 'video/VP8']));
  });

  it('leaves no mediasoup-worker process behind when stopped', async () => {
    const own = await startTestServer({ NUM_WORKERS: '2' });
    const pids = own.pool.workerPids();
    expect(pids.every(isAlive)).toBe(true);
    await own.close();
    await eventually(() => pids.every((pid) => !isAlive(pid)), { what: 'workers to exit' });
  });
});

describe('the server process', () => {
  const entry = path.join(root, 'dist/server/src/index.js');

  function runServer(env: Record<string, string>): Promise<{ code: number | null; stderr: string; pids: number[] }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [entry], { cwd: root, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('Conclave is serving')) child.kill('SIGTERM');
      });
      child.once('exit', (code) => {
        const pids = [...stdout.matchAll(/"pid":(\d+)/g)].map((match) => Number(match[1]));
        resolve({ code, stderr, pids });
      });
    });
  }

  it('exits with code 2 and one clear line on a bad setting', async () => {
    const { code, stderr } = await runServer({ PORT: 'not-a-port' });
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/PORT="not-a-port"/);
  });

  it('shuts down cleanly on SIGTERM, leaving no worker process', async () => {
    const { code, pids } = await runServer({ PORT: '0', RTC_PORT: '0', NUM_WORKERS: '2', HTTP_HOST: '127.0.0.1' });
    expect(code).toBe(0);
    expect(pids.length).toBeGreaterThanOrEqual(2);
    await eventually(() => pids.every((pid) => !isAlive(pid)), { what: 'workers to exit' });
  });
});
