import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { failureOf, TestParticipant, unwrap } from './helpers/participant.js';
import { eventually, useServer } from './helpers/server.js';

const KEY = 'admin-key-for-tests-0123456789abcdef';
const SECRET = 'admin-test-token-secret-0123456789';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** The operator's HTTP API against a real server, with real participants in real rooms. */
describe('the admin API', () => {
  const server = useServer({ ADMIN_API_KEY: KEY, RATE_LIMIT_PER_SECOND: '10000', RATE_LIMIT_BURST: '100000' });
  const everyone: TestParticipant[] = [];

  afterEach(async () => {
    await Promise.all(everyone.splice(0).map((participant) => participant.close()));
    await eventually(async () => (await server.health()).rooms === 0, { what: 'every room to close' });
  });

  async function call(method: string, path: string, body?: unknown, key: string | null = KEY): Promise<Answer> {
    const response = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function room(label: string): Promise<{ ana: TestParticipant; ben: TestParticipant; micId: string }> {
    const ana = await TestParticipant.connect(server.url, 'Ana');
    const ben = await TestParticipant.connect(server.url, 'Ben');
    everyone.push(ana, ben);
    await ana.join(label);
    await ben.join(label);
    await ben.connectSendTransport();
    return { ana, ben, micId: await ben.produce('mic') };
  }

  it('refuses a missing or wrong key with 401, and answers JSON errors for bad input', async () => {
    expect((await call('GET', '/rooms', undefined, null)).status).toBe(401);
    const wrong = await call('GET', '/rooms', undefined, `${KEY}x`);
    expect(wrong).toEqual({ status: 401, body: { code: 'NOT_AUTHORIZED', message: expect.any(String) } });
    expect((await call('GET', '/rooms/nope')).body).toMatchObject({ code: 'NOT_FOUND' });
    await room('bad-input');
    const ben = everyone[1]!;
    expect(await call('POST', `/rooms/bad-input/participants/${ben.id}/mute`, { source: 'voice' })).toMatchObject({
      status: 400,
      body: { code: 'BAD_REQUEST' },
    });
    expect(await call('POST', `/rooms/bad-input/participants/${ben.id}/mute`, '{"source":')).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(await call('POST', '/tokens', { room: 'r', name: 'n' })).toMatchObject({ status: 409, body: { code: 'UNSUPPORTED' } });
    expect(await call('GET', '/nothing-here')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });

  it('lists rooms and describes one, with each participant’s role, media and connection', async () => {
    const { ana, ben } = await room('described');
    const list = await call('GET', '/rooms');
    expect(list.status).toBe(200);
    expect(list.body.rooms).toEqual([{ id: 'described', participants: 2, createdAt: expect.any(String), locked: false, waiting: 0 }]);
    const described = await call('GET', '/rooms/described');
    expect(described.body).toMatchObject({ id: 'described', locked: false, lobby: [] });
    expect(described.body.participants).toEqual([
      {
        id: ana.id,
        name: 'Ana',
        role: 'host',
        joinedAt: expect.any(String),
        mic: 'none',
        camera: 'none',
        screen: 'none',
        handRaisedAt: null,
        connection: 'connected',
      },
      {
        id: ben.id,
        name: 'Ben',
        role: 'participant',
        joinedAt: expect.any(String),
        mic: 'on',
        camera: 'none',
        screen: 'none',
        handRaisedAt: null,
        connection: 'connected',
      },
    ]);
  });

  it('mutes, changes roles, and removes with a ban', async () => {
    const { ana, ben } = await room('acted-on');
    expect((await call('POST', `/rooms/acted-on/participants/${ben.id}/mute`, { source: 'mic' })).status).toBe(200);
    expect(await ben.waitFor('mutedBy')).toEqual({ source: 'mic', by: { admin: true } });
    expect(((await call('GET', '/rooms/acted-on')).body.participants as { mic: string }[])[1]?.mic).toBe('off');

    expect((await call('POST', `/rooms/acted-on/participants/${ben.id}/role`, { role: 'moderator' })).status).toBe(200);
    await ana.waitFor('participantUpdated', (info) => info.id === ben.id && info.role === 'moderator');
    expect(await call('POST', `/rooms/acted-on/participants/${ana.id}/role`, { role: 'participant' })).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    });

    expect((await call('DELETE', `/rooms/acted-on/participants/${ben.id}?ban=1`)).status).toBe(200);
    expect(await ben.waitFor('removed')).toMatchObject({ reason: 'banned' });
    await ana.waitFor('participantLeft', (left) => left.peerId === ben.id);
    const again = await TestParticipant.connect(server.url, 'Ben');
    everyone.push(again);
    expect(failureOf(await again.request('join', { roomId: 'acted-on', displayName: 'Ben', rtpCapabilities: again.joinCapabilities() })).code).toBe(
      'FORBIDDEN',
    );
    expect(await call('DELETE', `/rooms/acted-on/participants/${ben.id}`)).toMatchObject({ status: 404 });
  });

  it('locks a room, admits and denies from its lobby, unlocks, and ends the meeting', async () => {
    const { ana, ben } = await room('locked');
    expect((await call('POST', '/rooms/locked/lock')).body).toMatchObject({ policy: { locked: true } });
    await ben.waitFor('policy', (policy) => policy.locked);
    const [cy, dee] = await Promise.all(['Cy', 'Dee'].map((name) => TestParticipant.connect(server.url, name)));
    everyone.push(cy!, dee!);
    for (const knocker of [cy!, dee!]) {
      expect(failureOf(await knocker.request('join', { roomId: 'locked', displayName: knocker.name, rtpCapabilities: knocker.joinCapabilities() })).code).toBe(
        'IN_LOBBY',
      );
    }
    const lobby = (await call('GET', '/rooms/locked')).body.lobby as { id: string; displayName: string }[];
    expect(lobby.map((knock) => knock.displayName)).toEqual(['Cy', 'Dee']);
    expect((await call('POST', `/rooms/locked/lobby/${lobby[0]!.id}/admit`)).status).toBe(200);
    await cy!.waitFor('knockAnswered', (answer) => answer.admitted);
    await cy!.join('locked');
    expect((await call('POST', `/rooms/locked/lobby/${lobby[1]!.id}/deny`)).status).toBe(200);
    expect(await dee!.waitFor('knockAnswered')).toMatchObject({ admitted: false, reason: 'denied' });
    expect(await call('POST', `/rooms/locked/lobby/${lobby[1]!.id}/admit`)).toMatchObject({ status: 404 });
    expect((await call('POST', '/rooms/locked/unlock')).body).toMatchObject({ policy: { locked: false } });

    expect((await call('DELETE', '/rooms/locked')).status).toBe(200);
    for (const participant of [ana, ben, cy!]) expect(await participant.waitFor('removed')).toMatchObject({ reason: 'ended' });
    await eventually(async () => (await call('GET', '/rooms/locked')).status === 404, { what: 'the room to be gone' });
  });
});

describe('the admin API’s OpenAPI description', () => {
  const server = useServer({ ADMIN_API_KEY: KEY });

  it('names only endpoints the server has', async () => {
    const spec = parseYaml(readFileSync(path.resolve(import.meta.dirname, '../docs/admin-api.openapi.yaml'), 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const methods = ['get', 'post', 'delete'];
    let checked = 0;
    for (const [route, operations] of Object.entries(spec.paths)) {
      for (const method of Object.keys(operations).filter((key) => methods.includes(key))) {
        const url = `${server.url}/api/v1${route.replaceAll(/\{\w+\}/g, 'unknown')}`;
        const response = await fetch(url, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: method === 'get' ? undefined : '{}',
        });
        const body = (await response.json()) as { message?: string };
        expect(body.message ?? '', `${method.toUpperCase()} ${route}`).not.toMatch(/No such admin API endpoint/);
        checked++;
      }
    }
    expect(checked).toBe(20);
  });
});

describe('the admin API with join tokens', () => {
  const server = useServer({ ADMIN_API_KEY: KEY, AUTH_SECRET: SECRET });

  it('mints a token that joins the room with its role', async () => {
    const response = await fetch(`${server.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'minted', name: 'Mod', role: 'moderator', ttl: 600 }),
    });
    expect(response.status).toBe(200);
    const { token, expiresAt } = (await response.json()) as { token: string; expiresAt: string };
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(500_000);
    const mod = await TestParticipant.connect(server.url, 'Mod');
    try {
      const joined = unwrap(await mod.request('join', { roomId: 'minted', displayName: 'anything', rtpCapabilities: mod.joinCapabilities(), token }), 'join');
      expect(joined.self).toMatchObject({ displayName: 'Mod', role: 'moderator' });
    } finally {
      await mod.close();
    }
  });
});

describe('without ADMIN_API_KEY', () => {
  const server = useServer();

  it('the admin API is not there', async () => {
    const response = await fetch(`${server.url}/api/v1/rooms`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'NOT_FOUND' });
  });
});
