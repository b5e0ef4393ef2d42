import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, redactConfig } from '../server/src/config.js';
import { alsoListenOn, lanAddress } from '../server/src/media/addresses.js';
import { selfSignedCertificate } from './helpers/tls.js';

/** The ConfigError message parseConfig throws for `env`. */
function configErrorOf(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

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
    const config = parseConfig({
      PORT: '8080',
      NUM_WORKERS: '3',
      RTC_PORT: '50000',
      LISTEN_IP: '0.0.0.0',
      ANNOUNCED_IP: 'meet.example.org',
      STUN_URLS: 'stun:a:3478, stun:b:3478',
    });
    expect(config).toMatchObject({ PORT: 8080, NUM_WORKERS: 3, RTC_PORT: 50000, LISTEN_IP: '0.0.0.0', ANNOUNCED_IP: 'meet.example.org' });
    expect(config.STUN_URLS).toEqual(['stun:a:3478', 'stun:b:3478']);
  });

  it('listens on every interface by default in production', () => {
    expect(parseConfig({ NODE_ENV: 'production', ANNOUNCED_IP: '203.0.113.7' }).LISTEN_IP).toBe('0.0.0.0');
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

describe('deployment settings', () => {
  const tls = selfSignedCertificate();
  const other = selfSignedCertificate();
  afterAll(() => {
    rmSync(tls.dir, { recursive: true, force: true });
    rmSync(other.dir, { recursive: true, force: true });
  });

  it('refuses to start in production without ANNOUNCED_IP, and says what to set', () => {
    expect(configErrorOf({ NODE_ENV: 'production' })).toMatch(
      /^Missing ANNOUNCED_IP: .*0\.0\.0\.0.*set ANNOUNCED_IP to this server's public IP address or DNS name/,
    );
    expect(configErrorOf({ NODE_ENV: 'production', LISTEN_IP: '::' })).toMatch(/^Missing ANNOUNCED_IP/);
  });

  it('never announces a wildcard address', () => {
    expect(configErrorOf({ LISTEN_IP: '0.0.0.0' })).toMatch(/^Missing ANNOUNCED_IP/);
    expect(configErrorOf({ NODE_ENV: 'production', ANNOUNCED_IP: '0.0.0.0' })).toMatch(
      /^Invalid ANNOUNCED_IP="0\.0\.0\.0": a wildcard address cannot be announced/,
    );
  });

  it('accepts production with an announced address, or with a specific listen address', () => {
    expect(parseConfig({ NODE_ENV: 'production', ANNOUNCED_IP: 'meet.example.org' })).toMatchObject({ LISTEN_IP: '0.0.0.0', ANNOUNCED_IP: 'meet.example.org' });
    expect(parseConfig({ NODE_ENV: 'production', LISTEN_IP: '198.51.100.4' }).ANNOUNCED_IP).toBeUndefined();
  });

  it('takes a TLS certificate and key together', () => {
    const config = parseConfig({ TLS_CERT: tls.cert, TLS_KEY: tls.key });
    expect(config).toMatchObject({ TLS_CERT: tls.cert, TLS_KEY: tls.key });
    expect(JSON.stringify(redactConfig(config))).not.toContain(tls.key);
  });

  it('refuses a TLS certificate without its key, and the other way round', () => {
    expect(configErrorOf({ TLS_CERT: tls.cert })).toMatch(/^Missing TLS_KEY: TLS_CERT needs TLS_KEY/);
    expect(configErrorOf({ TLS_KEY: tls.key })).toMatch(/^Missing TLS_CERT: TLS_KEY needs TLS_CERT/);
  });

  it('refuses TLS files that are missing, unreadable or do not belong together', () => {
    const missing = path.join(tls.dir, 'nope.pem');
    expect(configErrorOf({ TLS_CERT: missing, TLS_KEY: tls.key })).toBe(
      `Invalid TLS_CERT=${JSON.stringify(missing)}: no such file, or not readable by this user`,
    );
    expect(configErrorOf({ TLS_CERT: tls.cert, TLS_KEY: tls.dir })).toMatch(/^Invalid TLS_KEY=.*: no such file, or not readable/);
    expect(configErrorOf({ TLS_CERT: tls.cert, TLS_KEY: other.key })).toMatch(
      /^Invalid TLS_CERT=.*: cannot serve TLS with TLS_CERT and TLS_KEY: .*key values mismatch/,
    );
    const garbage = path.join(tls.dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    expect(configErrorOf({ TLS_CERT: garbage, TLS_KEY: tls.key })).toMatch(/^Invalid TLS_CERT=.*: cannot serve TLS/);
  });
});

describe('media on the LAN address (MEDIA_ON_LAN), so Firefox can connect on `npm start`', () => {
  const laptop: ReturnType<typeof os.networkInterfaces> = {
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
    wlan0: [
      { address: '192.168.1.23', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '192.168.1.23/24' },
      { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 3 },
    ],
    usb0: [{ address: '169.254.7.9', netmask: '255.255.0.0', family: 'IPv4', mac: '02:00:00:00:00:02', internal: false, cidr: '169.254.7.9/16' }],
    docker0: [{ address: '172.17.0.1', netmask: '255.255.0.0', family: 'IPv4', mac: '02:00:00:00:00:03', internal: false, cidr: '172.17.0.1/16' }],
  };

  it('is on in development when no media address is chosen: loopback and the LAN address are offered', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ NODE_ENV: 'development', LISTEN_IP: '127.0.0.1', MEDIA_ON_LAN: true });
    expect(alsoListenOn(config, laptop)).toEqual(['192.168.1.23']);
  });

  it('is off in tests, in production and wherever LISTEN_IP or ANNOUNCED_IP is set', () => {
    expect(parseConfig({ NODE_ENV: 'test' }).MEDIA_ON_LAN).toBe(false);
    expect(parseConfig({ NODE_ENV: 'production', ANNOUNCED_IP: '203.0.113.7' }).MEDIA_ON_LAN).toBe(false);
    expect(parseConfig({ LISTEN_IP: '127.0.0.1' }).MEDIA_ON_LAN).toBe(false);
    expect(parseConfig({ ANNOUNCED_IP: '127.0.0.1' }).MEDIA_ON_LAN).toBe(false);
    expect(alsoListenOn(parseConfig({ NODE_ENV: 'test' }), laptop)).toEqual([]);
  });

  it('can be turned off in development, or on anywhere a specific LISTEN_IP is set', () => {
    expect(parseConfig({ MEDIA_ON_LAN: 'false' }).MEDIA_ON_LAN).toBe(false);
    expect(parseConfig({ NODE_ENV: 'test', MEDIA_ON_LAN: 'true' }).MEDIA_ON_LAN).toBe(true);
    expect(alsoListenOn(parseConfig({ NODE_ENV: 'production', LISTEN_IP: '10.0.0.5', MEDIA_ON_LAN: '1' }), laptop)).toEqual(['192.168.1.23']);
    // Already listening there: nothing to add.
    expect(alsoListenOn(parseConfig({ LISTEN_IP: '192.168.1.23', MEDIA_ON_LAN: 'true' }), laptop)).toEqual([]);
  });

  it('refuses a value that is not yes or no, and a wildcard LISTEN_IP that already covers every interface', () => {
    expect(configErrorOf({ MEDIA_ON_LAN: 'maybe' })).toBe('Invalid MEDIA_ON_LAN="maybe": not a yes/no value: use true or false');
    expect(configErrorOf({ LISTEN_IP: '0.0.0.0', ANNOUNCED_IP: '203.0.113.7', MEDIA_ON_LAN: 'true' })).toMatch(
      /^Invalid MEDIA_ON_LAN="true": LISTEN_IP is a wildcard/,
    );
  });

  it('takes the first IPv4 address that is neither loopback nor link-local, or none', () => {
    expect(lanAddress(laptop)).toBe('192.168.1.23');
    const { usb0, docker0 } = laptop;
    expect(lanAddress({ usb0, docker0 })).toBe('172.17.0.1');
    expect(lanAddress({ lo: laptop.lo, usb0 })).toBeUndefined();
    expect(alsoListenOn(parseConfig({}), { lo: laptop.lo })).toEqual([]);
  });
});

describe('join token keys (AUTH_PUBLIC_KEY, AUTH_JWKS_FILE)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conclave-auth-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const es256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed25519 = generateKeyPairSync('ed25519');
  const pem = (key: KeyObject): string => key.export({ type: key.type === 'public' ? 'spki' : 'pkcs8', format: 'pem' }).toString();
  const publicPem = pem(es256.publicKey);
  const file = (name: string, content: string): string => {
    const where = path.join(dir, name);
    writeFileSync(where, content);
    return where;
  };
  const jwks = (...keys: object[]): string => JSON.stringify({ keys });

  it('takes a P-256 or Ed25519 public key as PEM text (also on one line with \\n), as a PEM file, or a key set file', () => {
    expect(parseConfig({ AUTH_PUBLIC_KEY: publicPem }).AUTH_PUBLIC_KEY).toBe(publicPem);
    expect(() => parseConfig({ AUTH_PUBLIC_KEY: publicPem.replaceAll('\n', '\\n') })).not.toThrow();
    expect(() => parseConfig({ AUTH_PUBLIC_KEY: file('ed25519.pem', pem(ed25519.publicKey)) })).not.toThrow();
    const keySet = file('jwks.json', jwks({ ...ed25519.publicKey.export({ format: 'jwk' }), kid: 'a' }, { kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'ignored' }));
    expect(parseConfig({ AUTH_JWKS_FILE: keySet }).AUTH_JWKS_FILE).toBe(keySet);
  });

  it('refuses a public key it cannot verify tokens with, in one line naming AUTH_PUBLIC_KEY', () => {
    expect(configErrorOf({ AUTH_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n' })).toMatch(
      /^Invalid AUTH_PUBLIC_KEY="-----BEGIN PUBLIC KEY-----\\nbm90IGEga2V5.*": cannot verify join tokens with it: not a valid PEM public key/,
    );
    expect(configErrorOf({ AUTH_PUBLIC_KEY: path.join(dir, 'nope.pem') })).toMatch(/^Invalid AUTH_PUBLIC_KEY=.*: neither PEM text nor a readable PEM file$/);
    const privatePem = pem(es256.privateKey);
    expect(configErrorOf({ AUTH_PUBLIC_KEY: privatePem })).toMatch(/^Invalid AUTH_PUBLIC_KEY=.*: not a PEM public key/);
    const rsa = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
    expect(configErrorOf({ AUTH_PUBLIC_KEY: rsa })).toMatch(
      /^Invalid AUTH_PUBLIC_KEY=.*: rsa key: only EC P-256 \(ES256\) and Ed25519 \(EdDSA\) keys are accepted$/,
    );
    const p384 = pem(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey);
    expect(configErrorOf({ AUTH_PUBLIC_KEY: p384 })).toMatch(/: ec secp384r1 key: only EC P-256/);
  });

  it('refuses a key set file that is missing, not JSON, not a key set, without a usable key or with a private key', () => {
    expect(configErrorOf({ AUTH_JWKS_FILE: path.join(dir, 'nope.json') })).toMatch(/^Invalid AUTH_JWKS_FILE=.*: no such file, or not readable/);
    const refusal = (content: string): string => configErrorOf({ AUTH_JWKS_FILE: file('bad.json', content) });
    expect(refusal('{"keys": [')).toMatch(/^Invalid AUTH_JWKS_FILE=.*: cannot verify join tokens with it: not JSON/);
    expect(refusal('[]')).toMatch(/: not a JSON Web Key Set/);
    expect(refusal(jwks())).toMatch(/: not a JSON Web Key Set .*has no keys/);
    expect(refusal(jwks({ kty: 'RSA', n: 'AQAB', e: 'AQAB' }))).toMatch(/: no EC P-256 \(ES256\) or Ed25519 \(EdDSA\) key in the set$/);
    expect(refusal(jwks({ ...es256.privateKey.export({ format: 'jwk' }), kid: 'oops' }))).toMatch(/: key "oops" is a private key: publish only public keys$/);
    expect(refusal(jwks({ kty: 'OKP', crv: 'Ed25519', x: 'short' }))).toMatch(/: key 1 is not a valid key/);
  });
});
