import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REDIS_SERVER_PATH = process.env.REDIS_SERVER_PATH ?? '/usr/bin/redis-server';

/** A real redis-server (Debian's) on loopback, on a free port, in a temporary directory, persisting nothing. */
export interface RedisServer {
  /** redis://:password@127.0.0.1:port */
  url: string;
  port: number;
  password: string;
  /** SIGKILL, as a crash or a lost host would: nothing is written, clients see the connection drop. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing was persisted). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True once something on the port answers a PING (PONG, or NOAUTH when a password is set). */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('data', (data) => {
      socket.destroy();
      resolve(/^(\+PONG|-NOAUTH)/.test(data.toString()));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('error', () => resolve(false));
  });
}

/** `alsoOn`: another local address to listen on besides loopback (a network lab's gateway, for nodes in namespaces). */
export async function startRedis(password = 'test-redis-password', alsoOn?: string): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'conclave-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async (): Promise<void> => {
    output = '';
    const started = spawn(
      REDIS_SERVER_PATH,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        ...(alsoOn ? [alsoOn] : []),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--requirepass',
        password,
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.stdout?.on('data', (data: Buffer) => (output += data.toString()));
    started.stderr?.on('data', (data: Buffer) => (output += data.toString()));
    child = started;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}: ${output}`);
      if (await answers(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server did not answer on port ${port} within 10 s: ${output}`);
  };

  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  };

  await launch();
  return {
    url: `redis://:${password}@127.0.0.1:${port}`,
    port,
    password,
    kill: () => end('SIGKILL'),
    restart: launch,
    stop: async () => {
      await end('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The secret every node of a test cluster shares. */
export const CLUSTER_SECRET = 'a-cluster-secret-of-at-least-32-characters';

/** A free port for a node on this machine, and the settings that make it a node of the cluster at `redisUrl` reachable there. */
export async function loopbackNode(id: string, redisUrl: string, ttlSeconds: number): Promise<{ port: number; url: string; settings: Record<string, string> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const settings = {
    PORT: String(port),
    REDIS_URL: redisUrl,
    NODE_ID: id,
    CLUSTER_SECRET,
    INTERNAL_IP: '127.0.0.1',
    INTERNAL_PORT: '0',
    PUBLIC_URL: url,
    CLUSTER_NODE_TTL_SECONDS: String(ttlSeconds),
  };
  return { port, url, settings };
}
