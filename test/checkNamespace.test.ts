import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { CHECK_NAMESPACE, type CheckWelcome } from '../shared/check.js';
import type { Result } from '../shared/errors.js';
import { signToken } from '../server/src/auth/token.js';
import { useServer } from './helpers/server.js';

/**
 * The pre-call check's namespace at the protocol level, with real sockets: what anyone may do
 * (ping), what needs a token when the server has AUTH_SECRET, and that garbage, unknown requests,
 * floods and hoarding get clear errors while the server stays healthy. The browser side is
 * test/e2e/check.test.ts.
 */
const open: Socket[] = [];

function connect(url: string, auth: Record<string, unknown> = {}): Promise<{ socket: Socket; welcome: CheckWelcome }> {
  const socket = io(`${url}${CHECK_NAMESPACE}`, { transports: ['websocket'], auth, forceNew: true });
  open.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('checkWelcome', (welcome: CheckWelcome) => resolve({ socket, welcome }));
    socket.once('connect_error', reject);
  });
}

function request(socket: Socket, name: string, payload?: unknown): Promise<Result<Record<string, unknown>>> {
  return socket.timeout(10_000).emitWithAck(name, payload) as Promise<Result<Record<string, unknown>>>;
}

afterEach(() => {
  for (const socket of open.splice(0)) socket.disconnect();
});

describe('the check namespace on an open server', () => {
  const server = useServer();

  it('welcomes, answers a ping and opens a transport per path, with no token needed', async () => {
    const { socket, welcome } = await connect(server.url);
    expect(welcome).toMatchObject({ tokenRequired: false, authorized: true, turn: false });
    const ping = await request(socket, 'ping', {});
    expect(ping.ok).toBe(true);
    for (const path of ['udp', 'tcp'] as const) {
      const opened = await request(socket, 'openTransport', { path });
      expect(opened.ok, path).toBe(true);
      if (!opened.ok) continue;
      const candidates = opened.data.iceCandidates as { protocol: string }[];
      expect(candidates.length).toBeGreaterThan(0);
      // Each path offers only its own protocol's candidates: that is what makes the test mean something.
      expect(candidates.every((candidate) => candidate.protocol === path)).toBe(true);
    }
  });

  it('refuses garbage, unknown requests and a flood with clear errors, and stays healthy', async () => {
    const { socket } = await connect(server.url);
    const garbage: [string, unknown][] = [
      ['openTransport', { path: 'carrier-pigeon' }],
      ['openTransport', null],
      ['openTransport', 'udp'],
      ['connectTransport', { transportId: 'not-a-uuid', dtlsParameters: {} }],
      ['connectTransport', { transportId: '00000000-0000-4000-8000-000000000000', dtlsParameters: { role: 'client', fingerprints: [] } }],
      ['upload', { transportId: '00000000-0000-4000-8000-000000000000' }],
      ['download', { transportId: 42 }],
      ['closeTransport', {}],
      // Shapes that make the schema parser itself throw ("Cannot convert object to primitive value").
      ['connectTransport', { transportId: { length: { toString: 1, valueOf: 1 } } }],
      ['upload', { transportId: { length: { toString: 1, valueOf: 1 } } }],
      ['openTransport', { path: { toString: 1, valueOf: 1 } }],
    ];
    for (const [name, payload] of garbage) {
      const result = await request(socket, name, payload);
      expect(result.ok, `${name} ${JSON.stringify(payload)}`).toBe(false);
      if (!result.ok) expect(['BAD_REQUEST', 'NOT_FOUND']).toContain(result.error.code);
    }
    const unknown = await request(socket, 'join', { roomId: 'x' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    // A flood: past the burst, requests are refused as RATE_LIMITED rather than served.
    const flood = await Promise.all(Array.from({ length: 60 }, () => request(socket, 'ping', {})));
    expect(flood.some((result) => !result.ok && result.error.code === 'RATE_LIMITED')).toBe(true);
    expect((await server.health()).status).toBe('ok');
  });

  it('lets one address hold media for at most a few checks at once', async () => {
    const results: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      const { socket } = await connect(server.url);
      results.push((await request(socket, 'openTransport', { path: 'udp' })).ok);
    }
    expect(results.slice(0, 4)).toEqual([true, true, true, true]);
    expect(results.slice(4)).toContain(false);
  });
});

describe('the check namespace on a server with join tokens', () => {
  const SECRET = 'check-namespace-secret-0123456789abcdef';
  const server = useServer({ AUTH_SECRET: SECRET });

  it('answers a ping to anyone, but tests media only with a valid token', async () => {
    const anonymous = await connect(server.url);
    expect(anonymous.welcome).toMatchObject({ tokenRequired: true, authorized: false });
    expect((await request(anonymous.socket, 'ping', {})).ok).toBe(true);
    expect(await request(anonymous.socket, 'openTransport', { path: 'udp' })).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORIZED' } });

    // A handshake whose token the parser cannot even read: refused, and the server lives on.
    const hostile = await connect(server.url, { token: { length: { toString: 1, valueOf: 1 } } });
    expect(hostile.welcome.authorized).toBe(false);
    expect((await server.health()).status).toBe('ok');

    const forged = await connect(server.url, { token: 'eyJhbGciOiJIUzI1NiJ9.e30.forged' });
    expect(forged.welcome.authorized).toBe(false);
    expect(forged.welcome.tokenProblem).toBeTruthy();

    const invited = await connect(server.url, { token: await signToken(SECRET, { room: 'any-room', name: 'Checker' }, 600) });
    expect(invited.welcome.authorized).toBe(true);
    expect((await request(invited.socket, 'openTransport', { path: 'udp' })).ok).toBe(true);
  });
});
