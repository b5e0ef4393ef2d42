import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually } from './server.js';

export const NGINX_PATH = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
/** Debian's libnginx-mod-rtmp. */
export const NGINX_RTMP_MODULE = process.env.NGINX_RTMP_MODULE ?? '/usr/lib/nginx/modules/ngx_rtmp_module.so';

export interface RtmpServer {
  /** `rtmp://127.0.0.1:<port>/<app>/<key>`: where to publish, and where to play what was published. */
  url(app: string, key: string): string;
  port: number;
  /** nginx's error log so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A real RTMP ingest as a streaming platform runs one: Debian's nginx with the RTMP module, on an
 * ephemeral loopback port, with every file (configuration, logs, pid, temp paths) in a directory of
 * its own — nothing of a system nginx is read or touched. Application `live` relays what is
 * published to whoever plays the same URL (`ffprobe rtmp://…/live/<key>`); nothing is recorded.
 */
export async function startRtmpServer(): Promise<RtmpServer> {
  if (!existsSync(NGINX_RTMP_MODULE)) throw new Error(`${NGINX_RTMP_MODULE} is missing: apt-get install -y nginx-light libnginx-mod-rtmp`);
  const dir = mkdtempSync(path.join(tmpdir(), 'conclave-rtmp-'));
  mkdirSync(path.join(dir, 'logs'));
  const errorLog = path.join(dir, 'logs', 'error.log');
  const port = await freeTcpPort();
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    [
      `load_module ${NGINX_RTMP_MODULE};`,
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${path.join(dir, 'nginx.pid')};`,
      `error_log ${errorLog} info;`,
      'events { worker_connections 64; }',
      'rtmp {',
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    chunk_size 4096;',
      '    application live { live on; record off; allow publish 127.0.0.1; deny publish all; allow play all; }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  // -p: the prefix every relative path (and the compiled-in temp paths' fallbacks) resolves against;
  // -e: the log nginx writes before it has read its configuration.
  const child = spawn(NGINX_PATH, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', errorLog], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.once('error', (error) => (output += `\nspawn failed: ${error.message}`));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let finalLog: string | undefined;
  const log = (): string => finalLog ?? `${output}${existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : ''}`;

  await eventually(() => child.exitCode === null && tcpAccepts(port), { timeoutMs: 10_000, what: `nginx-rtmp listening on 127.0.0.1:${port}` }).catch(
    (error: unknown) => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`${String(error)}\nnginx output:\n${output}`);
    },
  );

  return {
    port,
    url: (app, key) => `rtmp://127.0.0.1:${port}/${app}/${key}`,
    log,
    stop: async () => {
      // SIGQUIT: graceful shutdown (SIGTERM is nginx's fast one; either ends a master-less nginx).
      if (child.exitCode === null) child.kill('SIGQUIT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      finalLog = log();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
