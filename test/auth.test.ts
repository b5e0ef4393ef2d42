// Over ~350 lines on purpose: joining with tokens, each way of trusting a login service, the verifier
// and the token tool: one concern, its cases side by side.
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLOCK_TOLERANCE_SECONDS, parseDuration, signToken, tokenVerifierFor, type TokenClaims } from '../server/src/auth/token.js';
import type { Result } from '../shared/errors.js';
import type { JoinResponse } from '../shared/protocol.js';
import { failureOf, TestParticipant, unwrap } from './helpers/participant.js';
import { eventually, useServer } from './helpers/server.js';

/**
 * Join tokens: with AUTH_SECRET set, only a valid HS256 token for the room lets a participant in,
 * and the name shown to others is the token's. A login service's ES256 or Ed25519 keys
 * (AUTH_PUBLIC_KEY, AUTH_JWKS_FILE) admit its tokens the same way, and only its tokens. Also the
 * `npm run token` tool and parseDuration.
 */

const root = path.resolve(import.meta.dirname, '..');
const SECRET = 'test-secret-of-at-least-16-chars';
const OTHER_SECRET = 'another-secret-also-16-chars-long';

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** What the secret-only server verifies with, for checking tokens outside a server. */
const withSecret = (secret: string): { verify(token: string): Promise<TokenClaims> } => {
  const verifier = tokenVerifierFor({ AUTH_SECRET: secret });
  if (!verifier) throw new Error('a secret gives a verifier');
  return verifier;
};

/** A login service's keys: an ES256 pair (its public key as PEM) and Ed25519 pairs published in a JWKS file. */
const es256 = await generateKeyPair('ES256');
const ES256_PEM = await exportSPKI(es256.publicKey);
const ed25519 = await generateKeyPair('Ed25519');
const ed25519Next = await generateKeyPair('Ed25519');
const keysDir = mkdtempSync(path.join(os.tmpdir(), 'conclave-keys-'));
const JWKS_FILE = path.join(keysDir, 'jwks.json');
writeFileSync(
  JWKS_FILE,
  JSON.stringify({
    keys: [
      { ...(await exportJWK(ed25519.publicKey)), kid: 'login-1', use: 'sig' },
      { ...(await exportJWK(ed25519Next.publicKey)), kid: 'login-2', use: 'sig' },
    ],
  }),
);
afterAll(() => rmSync(keysDir, { recursive: true, force: true }));

/** A token as a login service signs it: any claims, any algorithm, exp from ttl unless given. */
async function signAs(
  key: CryptoKey | Uint8Array,
  alg: string,
  claims: JWTPayload,
  { kid, ttl = 600, now = Date.now() }: { kid?: string; ttl?: number; now?: number } = {},
): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ exp: iat + ttl, ...claims })
    .setProtectedHeader({ alg, typ: 'JWT', ...(kid === undefined ? {} : { kid }) })
    .setIssuedAt(iat)
    .sign(key);
}

describe('joining a server that requires tokens (AUTH_SECRET)', () => {
  const server = useServer({ AUTH_SECRET: SECRET, RATE_LIMIT_PER_SECOND: '1000', RATE_LIMIT_BURST: '1000' });
  const everyone: TestParticipant[] = [];

  afterEach(async () => {
    await Promise.all(everyone.splice(0).map((participant) => participant.close()));
    await eventually(async () => (await server.health()).rooms === 0, { what: 'the server to be empty after the test' });
  });

  afterAll(async () => {
    await Promise.all(everyone.splice(0).map((participant) => participant.close()));
  });

  async function arrive(name: string): Promise<TestParticipant> {
    const participant = await TestParticipant.connect(server.url, name);
    everyone.push(participant);
    return participant;
  }

  function joinWith(participant: TestParticipant, roomId: string, token: string | undefined, displayName = participant.name): Promise<Result<JoinResponse>> {
    return participant.request('join', {
      roomId,
      displayName,
      rtpCapabilities: participant.joinCapabilities(),
      ...(token === undefined ? {} : { token }),
    });
  }

  it('a valid token lets a participant in, under the name in the token', async () => {
    const ana = await arrive('Ana');
    const ben = await arrive('Ben');
    const answer = await ana.request('join', {
      roomId: 'board',
      displayName: 'Impostor',
      rtpCapabilities: ana.joinCapabilities(),
      token: await signToken(SECRET, { room: 'board', name: 'Ana Lima' }, 600),
    });
    const anaJoin = unwrap(answer, 'Ana join');
    ana.joined = anaJoin;
    expect(anaJoin.roomId).toBe('board');
    expect(anaJoin.self.displayName).toBe('Ana Lima');

    const benJoin = unwrap(
      await ben.request('join', {
        roomId: 'board',
        displayName: 'The CEO',
        rtpCapabilities: ben.joinCapabilities(),
        token: await signToken(SECRET, { room: 'board', name: 'Ben Ode', role: 'moderator' }, 600),
      }),
      'Ben join',
    );
    ben.joined = benJoin;
    // Others see the token's names too.
    expect(benJoin.participants.map((info) => info.displayName)).toEqual(['Ana Lima']);
    const joined = await ana.waitFor('participantJoined', (info) => info.id === benJoin.self.id);
    expect(joined.displayName).toBe('Ben Ode');
    const room = (await server.rooms.list()).find((candidate) => candidate.id === 'board');
    expect([...(room?.peers.values() ?? [])].map((peer) => peer.displayName).sort()).toEqual(['Ana Lima', 'Ben Ode']);
    expect(room?.peers.get(benJoin.self.id)?.role).toBe('moderator');
    expect(room?.peers.get(anaJoin.self.id)?.role).toBe('participant');
    // Joined participants work as usual.
    await ana.produce('mic');
    await ben.waitFor('newConsumer');
  });

  it('missing, expired, foreign, forged, malformed and tampered tokens are NOT_AUTHORIZED', async () => {
    const eve = await arrive('Eve');
    const now = Date.now();
    const valid = await signToken(SECRET, { room: 'vault', name: 'Eve' }, 600);
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    // A correct HS256 signature over tampered content: what a forger holding the secret would make,
    // so only the header and claim checks can refuse it.
    const hmac = (body: string): string => createHmac('sha256', SECRET).update(body).digest('base64url');
    const noneHeader = base64url({ alg: 'none', typ: 'JWT' });

    const cases: { label: string; token: string | undefined; message: RegExp }[] = [
      { label: 'missing', token: undefined, message: /token/i },
      { label: 'expired an hour ago', token: await signToken(SECRET, { room: 'vault', name: 'Eve' }, 60, now - 3_600_000), message: /expired/i },
      // Past the clock tolerance (30 s); within it, see the login-service server below.
      { label: 'expired a minute ago', token: await signToken(SECRET, { room: 'vault', name: 'Eve' }, 0, now - 60_000), message: /expired/i },
      { label: 'for another room', token: await signToken(SECRET, { room: 'lobby', name: 'Eve' }, 600), message: /room/i },
      { label: 'signed with another secret', token: await signToken(OTHER_SECRET, { room: 'vault', name: 'Eve' }, 600), message: /signature/i },
      { label: '"a.b.c"', token: 'a.b.c', message: /signature|malformed/i },
      { label: '"garbage"', token: 'garbage', message: /malformed/i },
      { label: 'empty', token: '', message: /token/i },
      { label: 'two parts', token: `${header}.${payload}`, message: /malformed/i },
      { label: 'four parts', token: `${valid}.${signature}`, message: /malformed/i },
      { label: 'alg none, original signature', token: `${noneHeader}.${payload}.${signature}`, message: /signature/i },
      { label: 'alg none, no signature', token: `${noneHeader}.${payload}.`, message: /signature/i },
      { label: 'alg none, signed', token: `${noneHeader}.${payload}.${hmac(`${noneHeader}.${payload}`)}`, message: /algorithm/i },
      {
        label: 'alg HS512, signed',
        token: `${base64url({ alg: 'HS512', typ: 'JWT' })}.${payload}.${hmac(`${base64url({ alg: 'HS512', typ: 'JWT' })}.${payload}`)}`,
        message: /algorithm/i,
      },
      {
        label: 'claims changed after signing (room)',
        token: `${header}.${base64url({ ...claims, room: 'vault2' })}.${signature}`,
        message: /signature/i,
      },
      {
        label: 'no exp, signed',
        token: `${header}.${base64url({ room: 'vault', name: 'Eve' })}.${hmac(`${header}.${base64url({ room: 'vault', name: 'Eve' })}`)}`,
        message: /claims/i,
      },
      { label: 'bad name claim, signed', token: await signToken(SECRET, { room: 'vault', name: '<script>' }, 600), message: /claims invalid: name/i },
      {
        label: 'unknown role, signed',
        token: await signAs(new TextEncoder().encode(SECRET), 'HS256', { room: 'vault', name: 'Eve', role: 'owner' }),
        message: /claims invalid: role/i,
      },
      {
        label: 'ES256 token on a secret-only server',
        token: await signAs(es256.privateKey, 'ES256', { room: 'vault', name: 'Eve' }),
        message: /algorithm "ES256" is not accepted/i,
      },
      {
        label: 'payload not JSON, signed',
        token: `${header}.${Buffer.from('{not json').toString('base64url')}.${hmac(`${header}.${Buffer.from('{not json').toString('base64url')}`)}`,
        message: /malformed/i,
      },
    ];
    for (const { label, token, message } of cases) {
      const error = failureOf(await joinWith(eve, 'vault', token));
      expect(error.code, label).toBe('NOT_AUTHORIZED');
      expect(error.message, label).toMatch(message);
    }
    // Nobody got in, and no room was created for them.
    expect(await server.rooms.list()).toEqual([]);
    expect(eve.connected).toBe(true);

    // The same connection with the genuine token does get in.
    const join = unwrap(await joinWith(eve, 'vault', valid, 'Whoever'), 'Eve join');
    eve.joined = join;
    expect(join.self.displayName).toBe('Eve');
  });

  it('the token binds the exact room: another case or a suffix is refused', async () => {
    const eve = await arrive('Eve');
    const token = await signToken(SECRET, { room: 'Team', name: 'Eve' }, 600);
    expect(failureOf(await joinWith(eve, 'team', token)).code).toBe('NOT_AUTHORIZED');
    expect(failureOf(await joinWith(eve, 'Team2', token)).code).toBe('NOT_AUTHORIZED');
    // Requests other than join still need a joined connection.
    expect(failureOf(await eve.request('restartIce', { transportId: 'x' })).code).toBe('NOT_JOINED');
    unwrap(await joinWith(eve, 'Team', token), 'Eve join');
  });
});

describe("joining a server that takes a login service's keys (AUTH_PUBLIC_KEY, AUTH_JWKS_FILE)", () => {
  const server = useServer(() => ({ AUTH_PUBLIC_KEY: ES256_PEM, AUTH_JWKS_FILE: JWKS_FILE, RATE_LIMIT_PER_SECOND: '1000', RATE_LIMIT_BURST: '1000' }));
  const everyone: TestParticipant[] = [];

  afterEach(async () => {
    await Promise.all(everyone.splice(0).map((participant) => participant.close()));
    await eventually(async () => (await server.health()).rooms === 0, { what: 'the server to be empty after the test' });
  });

  async function arrive(name: string): Promise<TestParticipant> {
    const participant = await TestParticipant.connect(server.url, name);
    everyone.push(participant);
    return participant;
  }

  function joinWith(participant: TestParticipant, roomId: string, token: string): Promise<Result<JoinResponse>> {
    return participant.request('join', { roomId, displayName: participant.name, rtpCapabilities: participant.joinCapabilities(), token });
  }

  it('admits an ES256 token signed by the public key and an EdDSA token whose kid names a key of the set, as host', async () => {
    const ana = await arrive('Ana');
    const ben = await arrive('Ben');
    const anaJoin = unwrap(
      await joinWith(ana, 'standup', await signAs(es256.privateKey, 'ES256', { room: 'standup', name: 'Ana Lima', role: 'host' })),
      'Ana join',
    );
    ana.joined = anaJoin;
    expect(anaJoin.self.displayName).toBe('Ana Lima');
    const benToken = await signAs(ed25519Next.privateKey, 'EdDSA', { room: 'standup', name: 'Ben Ode', sub: 'user-42' }, { kid: 'login-2' });
    const benJoin = unwrap(await joinWith(ben, 'standup', benToken), 'Ben join');
    ben.joined = benJoin;
    expect(benJoin.self.displayName).toBe('Ben Ode');
    const room = (await server.rooms.list()).find((candidate) => candidate.id === 'standup');
    expect(room?.peers.get(anaJoin.self.id)?.role).toBe('host');
    expect(room?.peers.get(benJoin.self.id)?.role).toBe('participant');
  });

  it("refuses HS256 (even one keyed with the public key's own text), foreign keys, wrong kids, other rooms and tokens outside their time", async () => {
    const eve = await arrive('Eve');
    const claims = { room: 'vault', name: 'Eve' };
    const now = Date.now();
    const stranger = await generateKeyPair('ES256');
    const cases: { label: string; token: string; message: RegExp }[] = [
      { label: 'HS256 with some secret', token: await signToken(SECRET, claims, 600), message: /algorithm "HS256" is not accepted/ },
      // The classic key confusion: a verifier that let the token pick HMAC would take the public PEM as the secret.
      { label: 'HS256 keyed with the public PEM', token: await signToken(ES256_PEM, claims, 600), message: /algorithm "HS256" is not accepted/ },
      { label: 'ES256 by another key', token: await signAs(stranger.privateKey, 'ES256', claims), message: /signature/i },
      { label: 'EdDSA with the kid of another key', token: await signAs(ed25519.privateKey, 'EdDSA', claims, { kid: 'login-2' }), message: /signature/i },
      {
        label: 'EdDSA with an unknown kid',
        token: await signAs(ed25519.privateKey, 'EdDSA', claims, { kid: 'login-9' }),
        message: /no key .* matches its kid/,
      },
      { label: 'EdDSA without a kid (two keys could match)', token: await signAs(ed25519.privateKey, 'EdDSA', claims), message: /no kid/ },
      { label: 'for another room', token: await signAs(es256.privateKey, 'ES256', { ...claims, room: 'vault2' }), message: /another room/ },
      { label: 'no exp', token: await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(es256.privateKey), message: /claims invalid: .*"exp"/i },
      {
        label: 'nbf a minute ahead',
        token: await signAs(es256.privateKey, 'ES256', { ...claims, nbf: Math.floor(now / 1000) + 60 }),
        message: /not yet valid/,
      },
      { label: 'expired a minute ago', token: await signAs(es256.privateKey, 'ES256', claims, { ttl: 0, now: now - 60_000 }), message: /expired/i },
    ];
    for (const { label, token, message } of cases) {
      const error = failureOf(await joinWith(eve, 'vault', token));
      expect(error.code, label).toBe('NOT_AUTHORIZED');
      expect(error.message, label).toMatch(message);
    }
    expect(await server.rooms.list()).toEqual([]);

    // Clocks disagree a little: a token expired 10 s ago, or valid from 10 s ahead, still gets in.
    expect(CLOCK_TOLERANCE_SECONDS).toBe(30);
    const lateToken = await signAs(es256.privateKey, 'ES256', claims, { ttl: 0, now: Date.now() - 10_000 });
    const late = unwrap(await joinWith(eve, 'vault', lateToken), 'Eve join with a token expired 10 s ago');
    eve.joined = late;
    const early = await arrive('Early');
    const earlyToken = await signAs(ed25519.privateKey, 'EdDSA', { ...claims, name: 'Early', nbf: Math.floor(Date.now() / 1000) + 10 }, { kid: 'login-1' });
    early.joined = unwrap(await joinWith(early, 'vault', earlyToken), 'a join with nbf 10 s ahead');
  });
});

describe('tokenVerifierFor and signToken', () => {
  it('signs HS256 with iat, exp from the ttl and a fresh jti, and the secret verifies its claims', async () => {
    const now = Date.now();
    const token = await signToken(SECRET, { room: 'r1', name: 'Ana', role: 'host', lobby: true }, 3600, now);
    expect(JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'))).toEqual({ alg: 'HS256', typ: 'JWT' });
    const iat = Math.floor(now / 1000);
    const claims = await withSecret(SECRET).verify(token);
    expect(claims).toEqual({ room: 'r1', name: 'Ana', role: 'host', lobby: true, iat, exp: iat + 3600, jti: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const again = await withSecret(SECRET).verify(await signToken(SECRET, { room: 'r1', name: 'Ana' }, 3600, now));
    expect(again.jti).not.toBe(claims.jti);
    await expect(withSecret(OTHER_SECRET).verify(token)).rejects.toThrow(/signature/i);
  });

  it('is undefined without keys, and built once per configuration', () => {
    expect(tokenVerifierFor({})).toBeUndefined();
    const config = { AUTH_SECRET: SECRET, AUTH_PUBLIC_KEY: ES256_PEM };
    expect(tokenVerifierFor(config)).toBe(tokenVerifierFor(config));
    expect(tokenVerifierFor({ ...config })).not.toBe(tokenVerifierFor(config));
  });

  it('with a secret and a public key, takes each token to the key its algorithm calls for', async () => {
    const verifier = tokenVerifierFor({ AUTH_SECRET: SECRET, AUTH_PUBLIC_KEY: ES256_PEM });
    const claims = { room: 'r', name: 'N' };
    await expect(verifier?.verify(await signToken(SECRET, claims, 60))).resolves.toMatchObject(claims);
    await expect(verifier?.verify(await signAs(es256.privateKey, 'ES256', claims))).resolves.toMatchObject(claims);
    await expect(verifier?.verify(await signToken(ES256_PEM, claims, 60))).rejects.toThrow(/signature/i);
    await expect(verifier?.verify(await signAs(ed25519.privateKey, 'EdDSA', claims))).rejects.toThrow(/"EdDSA" is not accepted here \(HS256, ES256\)/);
  });

  it('takes an Ed25519 public key for EdDSA (and its fully-specified name Ed25519), and nothing else', async () => {
    const verifier = tokenVerifierFor({ AUTH_PUBLIC_KEY: await exportSPKI(ed25519.publicKey) });
    const claims = { room: 'r', name: 'N', lobby: false };
    await expect(verifier?.verify(await signAs(ed25519.privateKey, 'EdDSA', claims))).resolves.toMatchObject(claims);
    await expect(verifier?.verify(await signAs(ed25519.privateKey, 'Ed25519', claims))).resolves.toMatchObject(claims);
    await expect(verifier?.verify(await signAs(es256.privateKey, 'ES256', claims))).rejects.toThrow(/algorithm "ES256" is not accepted/);
  });
});

describe('parseDuration', () => {
  it('reads seconds, minutes, hours, days and plain numbers', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('7d')).toBe(604_800);
    expect(parseDuration('42')).toBe(42);
    expect(parseDuration(' 2h ')).toBe(7200);
    expect(parseDuration('0')).toBe(0);
  });

  it('throws on anything else, naming the bad input', () => {
    for (const bad of ['', 'h', '1w', '1.5h', '-5m', '10 minutes', '1h30m', 'abc', '5ms']) {
      expect(() => parseDuration(bad), JSON.stringify(bad)).toThrow(/Invalid duration/);
    }
    expect(() => parseDuration('soon')).toThrow(/"soon"/);
  });
});

describe('the token tool (npm run token)', () => {
  const tool = path.join(root, 'dist/server/src/tools/token.js');
  // An empty working directory, so no .env file is read.
  let cwd: string;

  // What the tool is compiled from: rebuilt (as `npm run token` does) when missing or older.
  const sources = ['server/src/tools/token.ts', 'server/src/auth/token.ts', 'server/src/config.ts', 'shared/identity.ts', 'shared/roles.ts'].map((file) =>
    path.join(root, file),
  );

  beforeAll(async () => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'conclave-token-'));
    const stale = !existsSync(tool) || sources.some((source) => statSync(source).mtimeMs > statSync(tool).mtimeMs);
    if (stale) {
      // tsc emits even when it reports type errors (say, in a file being edited elsewhere); only
      // a tool that is still missing or stale afterwards stops these tests.
      const build = await run('npm', ['run', '--silent', 'build:server'], { cwd: root, env: process.env });
      const built = existsSync(tool) && sources.every((source) => statSync(source).mtimeMs <= statSync(tool).mtimeMs);
      if (!built) throw new Error(`npm run build:server did not produce ${tool}:\n${build.stdout}${build.stderr}`);
    }
  }, 120_000);

  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(command, args, { ...options, timeout: 60_000 }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** The tool with only PATH and `env` in its environment. */
  function token(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return run(process.execPath, [tool, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
  }

  it('prints a JWT that the server accepts for that room and name, valid for the ttl', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { code, stdout, stderr } = await token(['--room', 'R', '--name', 'N', '--ttl', '1h'], { AUTH_SECRET: SECRET });
    const after = Math.ceil(Date.now() / 1000);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const claims = await withSecret(SECRET).verify(stdout.trim());
    expect(claims.room).toBe('R');
    expect(claims.name).toBe('N');
    expect(claims.exp).toBeGreaterThanOrEqual(before + 3600);
    expect(claims.exp).toBeLessThanOrEqual(after + 3600);
    expect(claims.role).toBeUndefined();
    expect(claims.lobby).toBeUndefined();
    // Only the configured secret verifies it.
    await expect(withSecret(OTHER_SECRET).verify(stdout.trim())).rejects.toThrow(/signature/i);
  });

  it('takes a role and the lobby flag, and defaults the ttl to one hour', async () => {
    const { code, stdout } = await token(['--room', 'R', '--name', 'Mod', '--role', 'moderator'], { AUTH_SECRET: SECRET });
    expect(code).toBe(0);
    const claims = await withSecret(SECRET).verify(stdout.trim());
    expect(claims.role).toBe('moderator');
    expect(claims.exp - (claims.iat ?? 0)).toBe(3600);

    const host = await token(['--room', 'R', '--name', 'Boss', '--role', 'host', '--lobby'], { AUTH_SECRET: SECRET });
    expect(host.code).toBe(0);
    expect(await withSecret(SECRET).verify(host.stdout.trim())).toMatchObject({ role: 'host', lobby: true });
  });

  it('exits 2 with a clear message without AUTH_SECRET, with usage without --room, and on a bad ttl, room, name, role or secret', async () => {
    const noSecret = await token(['--room', 'R', '--name', 'N']);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stdout).toBe('');
    expect(noSecret.stderr).toMatch(/AUTH_SECRET is not set/);

    const noRoom = await token(['--name', 'N'], { AUTH_SECRET: SECRET });
    expect(noRoom.code).toBe(2);
    expect(noRoom.stdout).toBe('');
    expect(noRoom.stderr).toMatch(/^usage: .*--room <room>.*--role host\|moderator\|participant\] \[--lobby\]/);

    const badTtl = await token(['--room', 'R', '--name', 'N', '--ttl', 'forever'], { AUTH_SECRET: SECRET });
    expect(badTtl.code).toBe(2);
    expect(badTtl.stdout).toBe('');
    expect(badTtl.stderr).toMatch(/Invalid duration "forever"/);

    // Room and name the server would refuse are refused here already.
    const badRoom = await token(['--room', 'bad room!', '--name', 'N'], { AUTH_SECRET: SECRET });
    expect(badRoom.code).toBe(2);
    expect(badRoom.stdout).toBe('');
    expect(badRoom.stderr).toMatch(/^--room: /);
    const badName = await token(['--room', 'R', '--name', '<b>Boss</b>'], { AUTH_SECRET: SECRET });
    expect(badName.code).toBe(2);
    expect(badName.stdout).toBe('');
    expect(badName.stderr).toMatch(/^--name: /);
    const badRole = await token(['--room', 'R', '--name', 'N', '--role', 'admin'], { AUTH_SECRET: SECRET });
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/Unknown role "admin" \(host, moderator, participant\)/);

    const shortSecret = await token(['--room', 'R', '--name', 'N'], { AUTH_SECRET: 'short' });
    expect(shortSecret.code).toBe(2);
    expect(shortSecret.stderr).toMatch(/AUTH_SECRET/);
  });
});
