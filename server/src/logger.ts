import { pino, type Logger } from 'pino';

export type { Logger };

/** Pretty lines in a terminal, JSON everywhere else (containers, CI, log shippers). */
export function createLogger(level: string, pretty = process.stdout.isTTY && process.env.NODE_ENV !== 'production'): Logger {
  if (pretty) {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, base: undefined });
}
