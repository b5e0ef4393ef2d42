import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration, signToken, verifyToken } from '../server/src/auth/token.js';
import type { Result } from '../shared/errors.js';
import type { JoinResponse } from '../shared/protocol.js';
import { failureOf, TestParticipant, unwrap } from './helpers/participant.js';
import { eventually, useServer } from './helpers/server.js';

/**
 * Join tokens: with AUTH_SECRET set, only a valid HS256 token for the room lets a participant in,
 * and the name shown to others is the token's. Also the `npm run token` tool and parseDuration.
 */

const root = path.resolve(import.meta.dirname, '..');
const SECRET = 'test-secret-of-at-least-16-chars';
const OTHER_SECRET = 'another-secret-also-16-chars-long';

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

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
      token: signToken(SECRET, { room: 'board', name: 'Ana Lima' }, 600),
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
        token: signToken(SECRET, { room: 'board', name: 'Ben Ode', role: 'moderator' }, 600),
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
    const valid = signToken(SECRET, { room: 'vault', name: 'Eve' }, 600);
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    // A correct HS256 signature over tampered content: what a forger holding the secret would make,
    // so only the header and claim checks can refuse it.
    const hmac = (body: string): string => createHmac('sha256', SECRET).update(body).digest('base64url');
    const noneHeader = base64url({ alg: 'none', typ: 'JWT' });

    const cases: { label: string; token: string | undefined; message: RegExp }[] = [
      { label: 'missing', token: undefined, message: /token/i },
      { label: 'expired an hour ago', token: signToken(SECRET, { room: 'vault', name: 'Eve' }, 60, now - 3_600_000), message: /expired/i },
      { label: 'expiring this very second', token: signToken(SECRET, { room: 'vault', name: 'Eve' }, 0), message: /expired/i },
      { label: 'for another room', token: signToken(SECRET, { room: 'lobby', name: 'Eve' }, 600), message: /room/i },
      { label: 'signed with another secret', token: signToken(OTHER_SECRET, { room: 'vault', name: 'Eve' }, 600), message: /signature/i },
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
      { label: 'bad name claim, signed', token: signToken(SECRET, { room: 'vault', name: '<script>' }, 600), message: /claims/i },
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
    const token = signToken(SECRET, { room: 'Team', name: 'Eve' }, 600);
    expect(failureOf(await joinWith(eve, 'team', token)).code).toBe('NOT_AUTHORIZED');
    expect(failureOf(await joinWith(eve, 'Team2', token)).code).toBe('NOT_AUTHORIZED');
    // Requests other than join still need a joined connection.
    expect(failureOf(await eve.request('restartIce', { transportId: 'x' })).code).toBe('NOT_JOINED');
    unwrap(await joinWith(eve, 'Team', token), 'Eve join');
  });
});

describe('verifyToken and signToken', () => {
  it('round-trips the claims and sets iat and exp from the ttl', () => {
    const now = Date.UTC(2030, 0, 1, 12, 0, 0);
    const token = signToken(SECRET, { room: 'r1', name: 'Ana', role: 'moderator' }, 3600, now);
    expect(token.split('.')).toHaveLength(3);
    const claims = verifyToken(SECRET, token, now + 1000);
    expect(claims).toEqual({ room: 'r1', name: 'Ana', role: 'moderator', iat: now / 1000, exp: now / 1000 + 3600 });
    // Valid until, not including, exp.
    expect(() => verifyToken(SECRET, token, now + 3_599_000)).not.toThrow();
    expect(() => verifyToken(SECRET, token, now + 3_600_000)).toThrow(/expired/i);
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
  const sources = ['server/src/tools/token.ts', 'server/src/auth/token.ts', 'server/src/config.ts', 'shared/identity.ts'].map((file) => path.join(root, file));

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
    const claims = verifyToken(SECRET, stdout.trim());
    expect(claims.room).toBe('R');
    expect(claims.name).toBe('N');
    expect(claims.exp).toBeGreaterThanOrEqual(before + 3600);
    expect(claims.exp).toBeLessThanOrEqual(after + 3600);
    expect(claims.role).toBeUndefined();
    // Only the configured secret verifies it.
    expect(() => verifyToken(OTHER_SECRET, stdout.trim())).toThrow(/signature/i);
  });

  it('takes a role and defaults the ttl to one hour', async () => {
    const { code, stdout } = await token(['--room', 'R', '--name', 'Mod', '--role', 'moderator'], { AUTH_SECRET: SECRET });
    expect(code).toBe(0);
    const claims = verifyToken(SECRET, stdout.trim());
    expect(claims.role).toBe('moderator');
    expect(claims.exp - (claims.iat ?? 0)).toBe(3600);
  });

  it('exits 2 with a clear message without AUTH_SECRET, with usage without --room, and on a bad ttl, room, name, role or secret', async () => {
    const noSecret = await token(['--room', 'R', '--name', 'N']);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stdout).toBe('');
    expect(noSecret.stderr).toMatch(/AUTH_SECRET is not set/);

    const noRoom = await token(['--name', 'N'], { AUTH_SECRET: SECRET });
    expect(noRoom.code).toBe(2);
    expect(noRoom.stdout).toBe('');
    expect(noRoom.stderr).toMatch(/^usage: .*--room <room>/);

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
    expect(badRole.stderr).toMatch(/Unknown role "admin"/);

    const shortSecret = await token(['--room', 'R', '--name', 'N'], { AUTH_SECRET: 'short' });
    expect(shortSecret.code).toBe(2);
    expect(shortSecret.stderr).toMatch(/AUTH_SECRET/);
  });
});
