import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, redactConfig } from '../server/src/config.js';

describe('configuration', () => {
  it('has working defaults for local use', () => {
    const config = parseConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.RTC_PORT).toBe(40000);
    expect(config.LISTEN_IP).toBe('127.0.0.1');
    expect(config.NUM_WORKERS).toBeGreaterThanOrEqual(1);
    expect(config.LOG_LEVEL).toBe('info');
  });

  it('reads and coerces values from the environment', () => {
    const config = parseConfig({ PORT: '8080', NUM_WORKERS: '3', RTC_PORT: '50000', LISTEN_IP: '0.0.0.0', ANNOUNCED_IP: 'meet.example.org', STUN_URLS: 'stun:a:3478, stun:b:3478' });
    expect(config).toMatchObject({ PORT: 8080, NUM_WORKERS: 3, RTC_PORT: 50000, LISTEN_IP: '0.0.0.0', ANNOUNCED_IP: 'meet.example.org' });
    expect(config.STUN_URLS).toEqual(['stun:a:3478', 'stun:b:3478']);
  });

  it('listens on every interface by default in production', () => {
    expect(parseConfig({ NODE_ENV: 'production' }).LISTEN_IP).toBe('0.0.0.0');
  });

  it('treats empty values as unset', () => {
    expect(parseConfig({ PORT: '' }).PORT).toBe(3000);
  });

  it.each([
    ['PORT', 'eighty', /PORT="eighty"/],
    ['PORT', '70000', /PORT="70000"/],
    ['NUM_WORKERS', '0', /NUM_WORKERS="0"/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL="loud"/],
    ['LISTEN_IP', 'not-an-ip', /LISTEN_IP="not-an-ip"/],
    ['NODE_ENV', 'staging', /NODE_ENV="staging"/],
  ])('rejects %s=%s with a one-line message naming the variable', (key, value, message) => {
    let thrown: unknown;
    try {
      parseConfig({ [key]: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).not.toContain('\n');
  });

  it('redacts secrets when printed', () => {
    const config = parseConfig({ TURN_URLS: 'turn:turn.example.org:3478', TURN_SECRET: 'hunter2-hunter2' });
    expect(config.TURN_SECRET).toBe('hunter2-hunter2');
    expect(JSON.stringify(redactConfig(config))).not.toContain('hunter2');
  });

  it('refuses TURN_URLS without TURN_SECRET', () => {
    expect(() => parseConfig({ TURN_URLS: 'turn:turn.example.org:3478' })).toThrow(/TURN_SECRET/);
  });
});
