import { existsSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';

const PortNumber = z.coerce.number().int().min(0).max(65535);
const CsvList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

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
    ANNOUNCED_IP: z.string().min(1).max(253).optional(),
    WORKER_LOG_LEVEL: z.enum(['debug', 'warn', 'error', 'none']).default('warn'),
    STUN_URLS: CsvList.default([]),
    /** coturn with use-auth-secret: clients get short-lived credentials, never the secret. */
    TURN_URLS: CsvList.default([]),
    TURN_SECRET: z.string().min(8, 'must be at least 8 characters').optional(),
    TURN_CREDENTIAL_TTL: z.coerce.number().int().min(60).max(7 * 24 * 3600).default(24 * 3600),
    /** Where the built client lives; served as static files. */
    CLIENT_DIST: z.string().min(1).default('client/dist'),
  })
  .refine((env) => env.TURN_URLS.length === 0 || env.TURN_SECRET !== undefined, {
    message: 'TURN_URLS needs TURN_SECRET (the static-auth-secret of your coturn)',
    path: ['TURN_SECRET'],
  })
  .transform((env) => ({
    ...env,
    LISTEN_IP: env.LISTEN_IP ?? (env.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
  }));

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
      `Invalid ${variable}${value === undefined ? '' : `=${JSON.stringify(value)}`}: ${issue?.message ?? 'invalid value'}`,
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

/** The configuration as it is safe to log: secrets replaced. */
export function redactConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [key, SECRET_KEYS.test(key) && value ? '***' : value]),
  );
}
