import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const NGINX_PATH = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
const NGINX_RTMP_MODULE = process.env.NGINX_RTMP_MODULE ?? '/usr/lib/nginx/modules/ngx_rtmp_module.so';

export interface RtmpIngest {
  url(key: string): string;
  /** nginx's error log (it notes each publish). */
  log(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * The RTMP ingest the stream goes to: Debian's nginx with the RTMP module on a loopback port, with
 * every file in a temporary directory (no system nginx is read or touched), relaying and recording
 * nothing. The same setup as the tests' (test/helpers/rtmp.ts), without their vitest helpers.
 */
export async function startRtmpIngest(): Promise<RtmpIngest> {
  if (!existsSync(NGINX_RTMP_MODULE)) throw new Error(`${NGINX_RTMP_MODULE} is missing: apt-get install -y nginx-light libnginx-mod-rtmp`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conclave-bench-rtmp-'));
  mkdirSync(path.join(dir, 'logs'));
  const errorLog = path.join(dir, 'logs', 'error.log');
  const port = await freePort();
  const config = [
    `load_module ${NGINX_RTMP_MODULE};`,
    'daemon off;',
    'master_process off;',
    'worker_processes 1;',
    `pid ${path.join(dir, 'nginx.pid')};`,
    `error_log ${errorLog} info;`,
    'events { worker_connections 64; }',
    `rtmp { server { listen 127.0.0.1:${port}; chunk_size 4096; application live { live on; record off; allow publish 127.0.0.1; deny publish all; allow play all; } } }`,
    '',
  ];
  writeFileSync(path.join(dir, 'nginx.conf'), config.join('\n'));
  const child = spawn(NGINX_PATH, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', errorLog], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => undefined);
  let finalLog: string | undefined;
  const log = (): string => finalLog ?? (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');
  const deadline = Date.now() + 10_000;
  while (!(child.exitCode === null && (await accepts(port)))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      const output = log();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx-rtmp did not listen on 127.0.0.1:${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: (key) => `rtmp://127.0.0.1:${port}/live/${key}`,
    log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGQUIT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      finalLog = log();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
