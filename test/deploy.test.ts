import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigSchema, parseConfig, type Config } from '../server/src/config.js';

const root = path.resolve(import.meta.dirname, '..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

// ---- reading the deployment files ----

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments dropped, grouped by stage. */
function dockerfileStages(source: string): Instruction[][] {
  const instructions = source
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
  const stages: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** `40000-40001/udp` or `127.0.0.1:3000:3000/tcp` → the container ports, as `40000/udp`, `40001/udp`. */
function expandPorts(spec: string): string[] {
  const match = /^(?:[\d.]+:)?(?:[\d-]+:)?(\d+)(?:-(\d+))?(?:\/(udp|tcp))?$/.exec(spec);
  if (!match) throw new Error(`not a port specification: ${spec}`);
  const first = Number(match[1]);
  const last = Number(match[2] ?? match[1]);
  return Array.from({ length: last - first + 1 }, (_, i) => `${first + i}/${match[3] ?? 'tcp'}`);
}

/** What a deployment must open for this configuration: HTTP, then one UDP + one TCP port per worker. */
function portsOf(config: Config): string[] {
  const media = Array.from({ length: config.NUM_WORKERS }, (_, i) => config.RTC_PORT + i);
  return [`${config.PORT}/tcp`, ...media.map((port) => `${port}/udp`), ...media.map((port) => `${port}/tcp`)].sort();
}

/** compose-style `${VAR}` interpolation. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const found = env[name];
    if (found === undefined) throw new Error(`\${${name}} is not set in .env.example`);
    return found;
  });
}

function mapping(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not a mapping`);
  return value as Record<string, unknown>;
}

function strings(value: unknown, what: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(mapping(value, what)).map(([key, item]) => {
      if (typeof item !== 'string') throw new Error(`${what}.${key} is not a plain value`);
      return [key, item];
    }),
  );
}

const dockerfile = dockerfileStages(read('docker/Dockerfile'));
const buildStage = dockerfile[0] ?? [];
const runtimeStage = dockerfile.at(-1) ?? [];
const envExample = parseEnv(read('docker/.env.example'));
const compose = mapping(parseYaml(read('docker/compose.yaml')) as unknown, 'compose.yaml');
const services = mapping(compose.services, 'services');
const conclave = mapping(services.conclave, 'services.conclave');
const coturn = mapping(services.coturn, 'services.coturn');
const caddy = mapping(services.caddy, 'services.caddy');

/** The app's environment under compose: .env (from .env.example), then compose's `environment`. */
const composedEnv = {
  ...envExample,
  ...Object.fromEntries(Object.entries(strings(conclave.environment, 'conclave.environment')).map(([key, value]) => [key, interpolate(value, envExample)])),
};

/** The runtime stage's ENV, `KEY=value` pairs. */
const imageEnv = Object.fromEntries(
  runtimeStage.filter((step) => step.keyword === 'ENV').flatMap((step) => [...step.args.matchAll(/(\w+)=(\S+)/g)].map((match) => [match[1]!, match[2]!])),
);

describe('deployment files agree with the server configuration', () => {
  it('.env.example, as compose passes it on, is a valid production configuration', () => {
    const config = parseConfig(composedEnv);
    expect(config).toMatchObject({ NODE_ENV: 'production', LISTEN_IP: '0.0.0.0', ANNOUNCED_IP: envExample.ANNOUNCED_IP, HTTP_HOST: '127.0.0.1' });
    expect(config.TURN_URLS).toEqual([
      `turn:${envExample.DOMAIN}:${envExample.TURN_PORT}?transport=udp`,
      `turn:${envExample.DOMAIN}:${envExample.TURN_PORT}?transport=tcp`,
    ]);
    expect(config.TURN_SECRET).toBe(envExample.TURN_SECRET);
  });

  it('.env.example documents every setting, and each is one the app, compose or Caddy reads', () => {
    const source = read('docker/.env.example').split('\n');
    const composeAndCaddy = read('docker/compose.yaml') + read('docker/Caddyfile');
    for (const [index, line] of source.entries()) {
      const name = /^(\w+)=/.exec(line)?.[1];
      if (!name) continue;
      // Each group of settings sits right under its explanation.
      expect(source[index - 1], `comment above ${name}`).toMatch(/^#|^\w+=/);
      const usedByApp = name in ConfigSchema.in.shape;
      const usedByFiles = composeAndCaddy.includes(`\${${name}}`) || composeAndCaddy.includes(`{$${name}}`);
      expect(usedByApp || usedByFiles, `${name} is read by something`).toBe(true);
    }
    for (const match of composeAndCaddy.matchAll(/\$\{(\w+)\}|\{\$(\w+)\}/g)) {
      const name = match[1] ?? match[2] ?? '';
      expect(envExample, `${name} used in compose.yaml/Caddyfile`).toHaveProperty(name);
    }
  });

  it('the image exposes exactly the HTTP port and one UDP + one TCP media port per worker', () => {
    const exposed = runtimeStage.filter((step) => step.keyword === 'EXPOSE').flatMap((step) => step.args.split(/\s+/).flatMap(expandPorts));
    // ANNOUNCED_IP is the one setting an image cannot know in advance; it comes at run time.
    const config = parseConfig({ ...imageEnv, ANNOUNCED_IP: '203.0.113.10' });
    expect(config.NODE_ENV).toBe('production');
    expect(exposed.sort()).toEqual(portsOf(config));
    expect(exposed.sort()).toEqual(portsOf(parseConfig(composedEnv)));
    for (const key of ['PORT', 'RTC_PORT', 'NUM_WORKERS'] as const) expect(imageEnv[key], key).toBe(envExample[key]);
  });

  it('compose runs the app on the host network, and its commented alternative publishes the same ports', () => {
    expect(conclave.network_mode).toBe('host');
    expect(conclave.env_file).toBe('.env');
    const commented = [...read('docker/compose.yaml').matchAll(/^\s*#\s+-\s+"([\d.:-]+\/(?:udp|tcp))"\s*$/gm)].map((match) => match[1]!);
    expect(commented.flatMap(expandPorts).sort()).toEqual(portsOf(parseConfig(composedEnv)));
  });

  it('coturn shares the secret, the port and the realm with what the app hands out', () => {
    const command = coturn.command;
    if (!Array.isArray(command)) throw new Error('coturn.command is not a list');
    const flags = command.map((item) => interpolate(String(item), envExample));
    expect(flags).toEqual(
      expect.arrayContaining([
        '--use-auth-secret',
        `--static-auth-secret=${composedEnv.TURN_SECRET}`,
        `--listening-port=${envExample.TURN_PORT}`,
        `--realm=${envExample.DOMAIN}`,
        `--min-port=${envExample.TURN_MIN_PORT}`,
        `--max-port=${envExample.TURN_MAX_PORT}`,
        `--allowed-peer-ip=${composedEnv.ANNOUNCED_IP}`,
      ]),
    );
    expect(Number(envExample.TURN_MAX_PORT)).toBeGreaterThan(Number(envExample.TURN_MIN_PORT));
    expect(coturn.network_mode).toBe('host');
  });

  it('Caddy serves DOMAIN, forwards to the app port, and keeps /metrics off the internet', () => {
    expect(strings(caddy.environment, 'caddy.environment')).toEqual({ DOMAIN: '${DOMAIN}', PORT: '${PORT}' });
    expect(read('docker/Caddyfile')).toMatch(/^\{\$DOMAIN\} \{\n(?:.*\n)*\treverse_proxy 127\.0\.0\.1:\{\$PORT\}\n\}/m);
    expect(read('docker/Caddyfile')).toMatch(/^\trespond \/metrics\* 404$/m);
    expect(composedEnv.HTTP_HOST).toBe('127.0.0.1');
  });
});

describe('the cluster example (docker/compose.cluster.yaml)', () => {
  const cluster = mapping(mapping(parseYaml(read('docker/compose.cluster.yaml')) as unknown, 'compose.cluster.yaml').services, 'services');
  const secrets = { CLUSTER_SECRET: 'x'.repeat(48), REDIS_PASSWORD: 'redis-password-for-the-example' };
  const nodes = ['node1', 'node2'].map((name) => {
    const environment = strings(mapping(cluster[name], name).environment, `${name}.environment`);
    const env = { ...imageEnv, ...Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, interpolate(value, secrets)])) };
    return { name, env, config: parseConfig(env) };
  });

  it('runs two nodes whose settings are each a valid cluster node in production, on ports and ids of their own', () => {
    for (const { name, config } of nodes) {
      expect(config).toMatchObject({ NODE_ENV: 'production', NODE_ID: name, CLUSTER_SECRET: secrets.CLUSTER_SECRET });
      expect(config.PUBLIC_URL).toBe(`http://localhost:${config.PORT}`);
    }
    const [one, two] = nodes.map((node) => node.config) as [Config, Config];
    const taken = (config: Config): number[] => [config.PORT, config.INTERNAL_PORT, ...portsOf(config).map((port) => Number.parseInt(port, 10))];
    expect(taken(one).filter((port) => taken(two).includes(port))).toEqual([]);
    expect(one.PIPE_PORT_MAX < two.PIPE_PORT_MIN || two.PIPE_PORT_MAX < one.PIPE_PORT_MIN).toBe(true);
  });

  it("points both nodes at its Redis, with Redis's own password", () => {
    const command = (mapping(cluster, 'services').redis as { command: string[] }).command.map((part) => interpolate(part, secrets));
    const port = command[command.indexOf('--port') + 1];
    expect(command[command.indexOf('--requirepass') + 1]).toBe(secrets.REDIS_PASSWORD);
    for (const { config } of nodes) expect(config.REDIS_URL).toBe(`redis://:${secrets.REDIS_PASSWORD}@127.0.0.1:${port}`);
  });
});

describe('the Dockerfile builds with what the test suite runs', () => {
  const runs = buildStage.filter((step) => step.keyword === 'RUN').map((step) => step.args);

  it('obtains the worker with scripts/mediasoup-worker.mjs and builds with the scripts npm run build chains, like bootstrap.mjs', () => {
    expect(runs).toContain('node scripts/mediasoup-worker.mjs');
    expect(runs.some((run) => /\bnpm ci\b/.test(run))).toBe(true);
    expect(runs.some((run) => /^npm run build\b/.test(run))).toBe(true);
    const bootstrap = read('scripts/bootstrap.mjs');
    expect(bootstrap).toContain("import { ensureMediasoupWorker } from './mediasoup-worker.mjs';");
    // bootstrap runs the scripts `npm run build` chains, side by side: the same programs either way.
    const chained = (JSON.parse(read('package.json')) as { scripts: { build: string } }).scripts.build
      .split('&&')
      .map((step) => step.trim().replace(/^npm run /, ''));
    expect(chained).toEqual(['build:server', 'build:client', 'build:tools']);
    expect(bootstrap).toContain(`[${chained.map((script) => `'${script}'`).join(', ')}].map((script) => runAsync('npm', ['run', '--silent', script]))`);
  });

  it('copies only files that exist, and starts the entry point the build produces', () => {
    for (const step of [...buildStage, ...runtimeStage].filter((s) => s.keyword === 'COPY' && !s.args.startsWith('--from'))) {
      for (const source of step.args.split(/\s+/).slice(0, -1)) expect(existsSync(path.join(root, source)), source).toBe(true);
    }
    expect(runtimeStage.find((step) => step.keyword === 'CMD')?.args).toBe('["node", "--enable-source-maps", "dist/server/src/index.js"]');
    expect(existsSync(path.join(root, 'dist/server/src/index.js'))).toBe(true);
    expect(read('deploy/conclave.service')).toContain('ExecStart=/usr/bin/env node --enable-source-maps dist/server/src/index.js\n');
  });

  it('runs the Node major that the bootstrap provides and package.json requires', async () => {
    const { PINNED_NODE, MIN_NODE_MAJOR } = await import('../scripts/node-runtime.mjs');
    const major = Number(PINNED_NODE.version.split('.')[0]);
    expect(read('docker/Dockerfile')).toContain(`ARG NODE_MAJOR=${major}\n`);
    expect(major).toBeGreaterThanOrEqual(MIN_NODE_MAJOR);
    expect((JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node).toBe(`>=${MIN_NODE_MAJOR}`);
  });

  it('runs slim, unprivileged and health-checked', () => {
    expect(runtimeStage[0]?.args).toMatch(/^node:\$\{NODE_MAJOR\}-bookworm-slim AS runtime$/);
    expect(runtimeStage.find((step) => step.keyword === 'USER')?.args).toBe('node');
    expect(runtimeStage.find((step) => step.keyword === 'HEALTHCHECK')?.args).toMatch(/CMD \["node", "docker\/healthcheck\.mjs"\]$/);
  });

  it('installs every shared library the worker links that the slim base image lacks', () => {
    const worker = process.env.MEDIASOUP_WORKER_BIN ?? path.join(root, 'node_modules/mediasoup/worker/out/Release/mediasoup-worker');
    const needed = [...execFileSync('readelf', ['-d', worker], { encoding: 'utf8' }).matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map(
      (match) => match[1]!,
    );
    expect(needed).toContain('libc.so.6');
    const packages = new Set(
      execFileSync('dpkg', ['-S', ...needed.map((library) => `*/${library}`)], { encoding: 'utf8' })
        .split('\n')
        .flatMap((line) => /^([^:]+(?::\w+)?(?:, [^:]+(?::\w+)?)*): \//.exec(line)?.[1]?.split(', ') ?? [])
        .map((name) => name.replace(/:\w+$/, '')),
    );
    const install = runtimeStage
      .filter((step) => step.keyword === 'RUN')
      .map((step) => step.args)
      .join(' ');
    const installed = /apt-get install -y --no-install-recommends ([\w.+ -]+?) &&/.exec(install)?.[1]?.split(' ') ?? [];
    const inBaseImage = ['libc6', 'libgcc-s1', 'libstdc++6'];
    expect([...packages].filter((name) => !installed.includes(name) && !inBaseImage.includes(name))).toEqual([]);
  });
});

describe('the systemd unit', () => {
  it('passes systemd-analyze verify', () => {
    const output = execFileSync('systemd-analyze', ['verify', path.join(root, 'deploy/conclave.service')], { encoding: 'utf8', stdio: 'pipe' });
    expect(output).toBe('');
  });
});

describe('starting in production', () => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'conclave-prod-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('without ANNOUNCED_IP stops at once with one line that says what to set', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !(key in ConfigSchema.in.shape)));
    // An empty working directory: no .env there to supply the missing setting.
    const child = spawn(process.execPath, [path.join(root, 'dist/server/src/index.js')], {
      cwd,
      env: { ...env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^conclave: Missing ANNOUNCED_IP: .*set ANNOUNCED_IP to this server's public IP address or DNS name\n$/);
  });
});
