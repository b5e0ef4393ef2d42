import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually } from './server.js';

export const TURNSERVER_PATH = process.env.TURNSERVER_PATH ?? '/usr/bin/turnserver';

/** Number of relay ports: one per allocation, and each relayed participant allocates two (send, receive). */
const RELAY_PORTS = 20;

export interface Coturn {
  /** `turn:127.0.0.1:<port>` with `?transport=udp|tcp` appended by the caller when it wants one. */
  url: string;
  secret: string;
  /** Everything turnserver printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

function tcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A block of `count` consecutive ports free on loopback for UDP and TCP, below Linux's ephemeral
 * range (32768+) so the browser's and mediasoup's own sockets are unlikely to take them meanwhile.
 */
async function freePortBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = randomInt(20_000, 32_000 - count);
    let free = true;
    for (let port = first; free && port < first + count; port++) {
      free = (await udpPortFree(port)) && (await tcpPortFree(port));
    }
    if (free) return first;
  }
  throw new Error(`no block of ${count} free ports found`);
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
 * Debian's coturn on loopback with the TURN REST API secret scheme (`use-auth-secret`), as in
 * production. Loopback peers are allowed because the test's mediasoup listens on 127.0.0.1.
 */
export async function startCoturn(): Promise<Coturn> {
  const secret = randomBytes(18).toString('base64url');
  // One block: the listening port first, then the relay range.
  const port = await freePortBlock(1 + RELAY_PORTS);
  const dir = mkdtempSync(path.join(tmpdir(), 'conclave-coturn-'));
  const child = spawn(
    TURNSERVER_PATH,
    [
      '-n', // no configuration file: /etc/turnserver.conf must not change what the test runs
      `--listening-port=${port}`,
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--min-port=${port + 1}`,
      `--max-port=${port + RELAY_PORTS}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=conclave.test',
      '--fingerprint',
      '--allow-loopback-peers',
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--no-software-attribute',
      '--verbose',
      '--log-file=stdout',
      '--simple-log',
      // Its defaults (/var/run, /var/lib/turn) belong to a system coturn; keep out of them.
      `--pidfile=${path.join(dir, 'turnserver.pid')}`,
      `--db=${path.join(dir, 'turndb.sqlite')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (output += `\nspawn failed: ${error.message}`));

  await eventually(() => child.exitCode === null && tcpAccepts(port), {
    timeoutMs: 10_000,
    what: `turnserver listening on 127.0.0.1:${port}`,
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${String(error)}\nturnserver output:\n${output}`);
  });

  return {
    url: `turn:127.0.0.1:${port}`,
    secret,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
