import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { SESSION_EVENTS_RETAIN_MS } from '../../shared/diagnostics.js';
import { parseDuration, readKeySet, readPublicKey } from './auth/token.js';

const PortNumber = z.coerce.number().int().min(0).max(65535);
const CsvList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);
const WILDCARD_IPS = ['0.0.0.0', '::'];

function isReadableFile(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
const ReadableFile = z.string().refine(isReadableFile, 'no such file, or not readable by this user');

/** Why a certificate and key cannot serve TLS (bad PEM, key not matching the certificate), or undefined. */
function tlsPairProblem(cert: string, key: string): string | undefined {
  try {
    createSecureContext({ cert: readFileSync(cert), key: readFileSync(key) });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Every setting, its default and its validation, in one place. Read from the environment (and an
 * optional .env file); a bad value stops the server with one line naming the variable.
 */
export const ConfigSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** HTTP + Socket.IO. */
    PORT: PortNumber.default(3000),
    HTTP_HOST: z.string().min(1).default('0.0.0.0'),
    /** mediasoup workers: one per core by default. */
    NUM_WORKERS: z.coerce.number().int().min(1).max(128).default(os.availableParallelism()),
    /** First media port; worker i listens on RTC_PORT + i (UDP and TCP). 0 picks free ports (tests). */
    RTC_PORT: PortNumber.default(40000),
    /** Address the media sockets bind to; defaults depend on NODE_ENV (see below). */
    LISTEN_IP: z.ipv4().or(z.ipv6()).optional(),
    /** Public IP or DNS name clients reach the media ports on. */
    ANNOUNCED_IP: z
      .string()
      .min(1)
      .max(253)
      .refine((value) => !WILDCARD_IPS.includes(value), 'a wildcard address cannot be announced: use the public IP address or DNS name')
      .optional(),
    /**
     * Media also listens on this machine's LAN address (its first non-loopback IPv4, announced as
     * itself) besides LISTEN_IP. Firefox never uses loopback ICE candidates, so without it a Firefox
     * on http://localhost fails ICE; it also lets other devices on the LAN send media. Unset: on in
     * development when neither LISTEN_IP nor ANNOUNCED_IP is set, off otherwise (see below).
     */
    MEDIA_ON_LAN: z.stringbool({ error: 'not a yes/no value: use true or false' }).optional(),
    WORKER_LOG_LEVEL: z.enum(['debug', 'warn', 'error', 'none']).default('warn'),
    STUN_URLS: CsvList.default([]),
    /** coturn with use-auth-secret: clients get short-lived credentials, never the secret. */
    TURN_URLS: CsvList.default([]),
    TURN_SECRET: z.string().min(8, 'must be at least 8 characters').optional(),
    TURN_CREDENTIAL_TTL: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600)
      .default(24 * 3600),
    /** Where the built client lives; served as static files. */
    CLIENT_DIST: z.string().min(1).default('client/dist'),
    /** When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`; unset, only this machine may read it. */
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Receivers of room and participant events (docs/webhooks.md); each gets every event. */
    WEBHOOK_URLS: CsvList.pipe(z.array(z.url({ protocol: /^https?$/, error: (issue) => `not an http(s) URL: ${String(issue.input)}` }))).default([]),
    /** Signs every webhook request (HMAC-SHA256 in X-Conclave-Signature); unset, they go unsigned. */
    WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Limits: each answers with its own error code. */
    MAX_PEERS_PER_ROOM: z.coerce.number().int().min(1).max(10_000).default(50),
    MAX_ROOMS: z.coerce.number().int().min(1).max(100_000).default(500),
    /** A room whose worker carries this many consumers puts newcomers on another worker (pipeToRouter). */
    SPREAD_AT_CONSUMERS: z.coerce.number().int().min(1).max(100_000).default(400),
    /** Largest Socket.IO message in KiB; larger ones close that connection. */
    MAX_MESSAGE_KB: z.coerce
      .number()
      .int()
      .min(16)
      .max(64 * 1024)
      .default(256),
    /** Per-connection request budget: sustained rate and burst (token bucket). */
    RATE_LIMIT_PER_SECOND: z.coerce.number().positive().max(10_000).default(20),
    RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(100_000).default(60),
    /** Largest file a participant may send to the room, in MB (MiB); the server stops larger transfers. */
    MAX_FILE_MB: z.coerce.number().positive().max(4096).default(50),
    /** When set, joining needs a JWT signed with this HS256 secret (or one of the keys below): `npm run token`. */
    AUTH_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    /** A login service's ES256 (P-256) or Ed25519 public key, PEM text or a PEM file: its tokens admit (docs/tokens.md). */
    AUTH_PUBLIC_KEY: z.string().min(1).optional(),
    /** A JSON Web Key Set file of such public keys; the token's `kid` picks one. */
    AUTH_JWKS_FILE: ReadableFile.optional(),
    /** Origins allowed to open a Socket.IO connection besides the server's own (production behind other sites). */
    CORS_ORIGINS: CsvList.default([]),
    /** How long someone waits in a locked meeting's lobby before being told nobody let them in ("90s", "5m", or seconds). */
    LOBBY_TIMEOUT: z
      .string()
      .transform((text, context) => {
        try {
          return parseDuration(text);
        } catch (error) {
          context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
          return z.NEVER;
        }
      })
      .pipe(
        z
          .number()
          .int()
          .min(10, 'at least 10 seconds')
          .max(24 * 3600, 'at most 24 hours'),
      )
      .default(300),
    /** At most this many people wait in one lobby. */
    MAX_LOBBY: z.coerce.number().int().min(1).max(10_000).default(100),
    /** Knocks on locked meetings per client address and minute (a short burst of 5 comes on top). */
    LOBBY_KNOCKS_PER_MINUTE: z.coerce.number().positive().max(10_000).default(10),
    /**
     * Proxies (IP addresses, or `loopback`) whose X-Forwarded-For is believed for the client's
     * address: the shipped Caddy on the same machine is `loopback`. Unset, the socket's peer is the client.
     */
    TRUST_PROXY: CsvList.pipe(
      z.array(z.union([z.ipv4(), z.ipv6(), z.literal('loopback')], { error: (issue) => `not an IP address or "loopback": ${String(issue.input)}` })),
    ).default([]),
    /** Enables the admin HTTP API (/api/v1, docs/admin-api.md) for `Authorization: Bearer <ADMIN_API_KEY>`. */
    ADMIN_API_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    /** How long a participant whose connection dropped keeps its place and media. */
    RECONNECT_GRACE_SECONDS: z.coerce.number().min(0).max(3600).default(30),
    /**
     * How long a room whose media worker died keeps trying to move (waiting for replacement
     * workers) before it tells its participants to rejoin by themselves.
     */
    ROOM_MOVE_TIMEOUT_SECONDS: z.coerce.number().min(1).max(300).default(20),
    /** How long a participant's session events stay readable (admin API) after they leave. */
    SESSION_EVENTS_RETAIN_SECONDS: z.coerce
      .number()
      .min(0)
      .max(7 * 24 * 3600)
      .default(SESSION_EVENTS_RETAIN_MS / 1000),
    /** Where recordings are written (docs/recording.md); created when the first recording starts. */
    RECORDINGS_DIR: z.string().min(1).default('recordings'),
    /** Recordings and live streams running at once on this server (each is a headless Chromium and an ffmpeg). */
    MAX_RECORDINGS: z.coerce.number().int().min(0).max(100).default(2),
    /** A recording or stream stops by itself after this long. */
    MAX_RECORDING_MINUTES: z.coerce
      .number()
      .positive()
      .max(24 * 60)
      .default(240),
    /** A recording does not start when the disk under RECORDINGS_DIR has less free space than this (MiB). */
    RECORDING_MIN_FREE_MB: z.coerce.number().min(0).max(10_000_000).default(1024),
    /** The size of the composite picture, WIDTHxHEIGHT. */
    RECORDING_RESOLUTION: z
      .string()
      .regex(/^\d{3,4}x\d{3,4}$/, 'WIDTHxHEIGHT, e.g. 1280x720')
      .default('1280x720')
      .transform((text) => {
        const [width = 1280, height = 720] = text.split('x').map(Number);
        return { width: width - (width % 2), height: height - (height % 2) };
      }),
    RECORDING_FRAME_RATE: z.coerce.number().int().min(5).max(60).default(25),
    /** The browser that draws recordings (headless) and the encoder that writes and streams them. */
    RECORDER_CHROMIUM: z.string().min(1).default('/usr/bin/chromium'),
    FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
    /** HTTPS from the server itself (PEM files); browsers give camera access only on https or localhost. */
    TLS_CERT: ReadableFile.optional(),
    TLS_KEY: ReadableFile.optional(),
    /**
     * Several nodes (docs/cluster.md): the Redis they share (redis:// or rediss:// for TLS; user and
     * password in the URL). Unset, this server runs alone and nothing below is used.
     */
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: (issue) => `not a redis:// or rediss:// URL: ${String(issue.input)}` }).optional(),
    /** This node's name in the cluster; unique per node. Generated at each start when unset. */
    NODE_ID: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, '1-64 letters, digits, ".", "_" or "-", starting with a letter or digit')
      .default(
        () =>
          `${
            os
              .hostname()
              .replace(/[^A-Za-z0-9._-]/g, '')
              .slice(0, 40) || 'node'
          }-${randomBytes(4).toString('hex')}`,
      ),
    /** Shared by every node: signs and encrypts what nodes ask each other (including the pipes' SRTP keys). */
    CLUSTER_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** The address other nodes reach this one on: its internal API and the media pipes between nodes. */
    INTERNAL_IP: z
      .ipv4()
      .or(z.ipv6())
      .refine((value) => !WILDCARD_IPS.includes(value), "other nodes cannot reach a wildcard address: use this host's address on the network between nodes")
      .optional(),
    /** The internal API's TCP port on INTERNAL_IP (0: any free port). */
    INTERNAL_PORT: PortNumber.default(3100),
    /** UDP ports on INTERNAL_IP for media pipes to and from other nodes (one per producer and node). */
    PIPE_PORT_MIN: PortNumber.default(41000),
    PIPE_PORT_MAX: PortNumber.default(41999),
    /** Where browsers reach this node (https://node1.example.org); other nodes hand it out. */
    PUBLIC_URL: z.url({ protocol: /^https?$/, error: (issue) => `not an http(s) URL: ${String(issue.input)}` }).optional(),
    /** A node that stops renewing its entry in Redis for this long is gone; it renews three times as often. */
    CLUSTER_NODE_TTL_SECONDS: z.coerce.number().min(0.3).max(120).default(6),
    /**
     * A join reaching a node a room is not on is taken there, and the room spans both nodes (media
     * piped between them); false sends it to the room's node instead (a REDIRECT the client follows).
     */
    CLUSTER_SPAN_ROOMS: z.stringbool({ error: 'not a yes/no value: use true or false' }).default(true),
  })
  .refine((env) => env.TURN_URLS.length === 0 || env.TURN_SECRET !== undefined, {
    message: 'TURN_URLS needs TURN_SECRET (the static-auth-secret of your coturn)',
    path: ['TURN_SECRET'],
  })
  .refine((env) => env.TLS_KEY !== undefined || env.TLS_CERT === undefined, {
    message: 'TLS_CERT needs TLS_KEY (the PEM private key of the certificate)',
    path: ['TLS_KEY'],
  })
  .refine((env) => env.TLS_CERT !== undefined || env.TLS_KEY === undefined, {
    message: 'TLS_KEY needs TLS_CERT (the PEM certificate chain)',
    path: ['TLS_CERT'],
  })
  .superRefine((env, context) => {
    if (env.TLS_CERT === undefined || env.TLS_KEY === undefined) return;
    const problem = tlsPairProblem(env.TLS_CERT, env.TLS_KEY);
    if (problem) context.addIssue({ code: 'custom', path: ['TLS_CERT'], message: `cannot serve TLS with TLS_CERT and TLS_KEY: ${problem}` });
  })
  .superRefine((env, context) => {
    const keys = [
      ['AUTH_PUBLIC_KEY', env.AUTH_PUBLIC_KEY, readPublicKey],
      ['AUTH_JWKS_FILE', env.AUTH_JWKS_FILE, readKeySet],
    ] as const;
    for (const [variable, value, read] of keys) {
      if (value === undefined) continue;
      try {
        read(value);
      } catch (error) {
        const problem = error instanceof Error ? error.message : String(error);
        context.addIssue({ code: 'custom', path: [variable], message: `cannot verify join tokens with it: ${problem}` });
      }
    }
  })
  .superRefine((env, context) => {
    if (env.REDIS_URL === undefined) {
      // Cluster settings without Redis would be silently ignored: most likely REDIS_URL was forgotten.
      for (const variable of ['CLUSTER_SECRET', 'INTERNAL_IP', 'PUBLIC_URL'] as const) {
        if (env[variable] !== undefined) {
          context.addIssue({ code: 'custom', path: [variable], message: 'only used by a cluster node: set REDIS_URL too, or leave it unset' });
        }
      }
      return;
    }
    const needed = [
      ['CLUSTER_SECRET', 'REDIS_URL needs CLUSTER_SECRET (the same on every node, at least 32 characters)'],
      ['INTERNAL_IP', 'REDIS_URL needs INTERNAL_IP: the address other nodes reach this one on (internal API and media pipes)'],
      ['PUBLIC_URL', 'REDIS_URL needs PUBLIC_URL: where browsers reach this node (e.g. https://node1.example.org)'],
    ] as const;
    for (const [variable, message] of needed) {
      if (env[variable] === undefined) context.addIssue({ code: 'custom', path: [variable], message });
    }
    if (env.PIPE_PORT_MIN === 0 || env.PIPE_PORT_MIN > env.PIPE_PORT_MAX) {
      context.addIssue({ code: 'custom', path: ['PIPE_PORT_MIN'], message: `must be between 1 and PIPE_PORT_MAX (${env.PIPE_PORT_MAX})` });
    }
  })
  .transform((env) => ({
    ...env,
    LISTEN_IP: env.LISTEN_IP ?? (env.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
    // `npm start` on a laptop: loopback for Chromium, the LAN address for Firefox. An operator who
    // chose addresses gets exactly those; tests stay on loopback unless they ask.
    MEDIA_ON_LAN: env.MEDIA_ON_LAN ?? (env.NODE_ENV === 'development' && env.LISTEN_IP === undefined && env.ANNOUNCED_IP === undefined),
  }))
  // mediasoup would announce the wildcard itself as the media address, and browsers cannot send to it.
  .refine((env) => env.ANNOUNCED_IP !== undefined || !WILDCARD_IPS.includes(env.LISTEN_IP), {
    message:
      "media listens on every interface (LISTEN_IP 0.0.0.0, the production default), which browsers cannot send to: set ANNOUNCED_IP to this server's public IP address or DNS name",
    path: ['ANNOUNCED_IP'],
  })
  // A wildcard socket already takes the port on every address: a second one on the LAN address cannot bind.
  .refine((env) => !env.MEDIA_ON_LAN || !WILDCARD_IPS.includes(env.LISTEN_IP), {
    message: 'LISTEN_IP is a wildcard, which already listens on every interface: leave MEDIA_ON_LAN unset (or false)',
    path: ['MEDIA_ON_LAN'],
  });

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses settings; throws ConfigError with one line naming the first bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const relevant = Object.fromEntries(
    Object.keys(ConfigSchema.in.shape).flatMap((key) => {
      const value = env[key];
      return value === undefined || value === '' ? [] : [[key, value]];
    }),
  );
  const result = ConfigSchema.safeParse(relevant);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = issue?.path[0] === undefined ? 'configuration' : String(issue.path[0]);
    const value = typeof variable === 'string' ? relevant[variable] : undefined;
    throw new ConfigError(
      value === undefined
        ? `Missing ${variable}: ${issue?.message ?? 'required'}`
        : `Invalid ${variable}=${JSON.stringify(value)}: ${issue?.message ?? 'invalid value'}`,
    );
  }
  return result.data;
}

/** Loads `.env` (without overriding the real environment) and parses the result. */
export function loadConfig(envFile = '.env'): Config {
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  return parseConfig(process.env);
}

const SECRET_KEYS = /SECRET|TOKEN|PASSWORD|KEY/;

/** The configuration as it is safe to log: secrets replaced, webhook URLs without credentials or query (either may hold a token). */
export function redactConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [
      key,
      key === 'WEBHOOK_URLS'
        ? config.WEBHOOK_URLS.map(withoutCredentials)
        : key === 'REDIS_URL' && config.REDIS_URL
          ? redactPassword(config.REDIS_URL)
          : SECRET_KEYS.test(key) && value
            ? '***'
            : value,
    ]),
  );
}

function withoutCredentials(url: string): string {
  const { origin, pathname } = new URL(url);
  return `${origin}${pathname}`;
}

/** A Redis URL with its password (if any) replaced: the host and user help an operator, the password must not reach logs. */
function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
