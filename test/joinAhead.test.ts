import { afterEach, describe, expect, it } from 'vitest';
import type { JoinResponse } from '../shared/protocol.js';
import { localDtlsParameters, MediaLink } from '../scripts/loadtest/synthetic/MediaLink.js';
import { failureOf, TestParticipant, unwrap } from './helpers/participant.js';
import { eventually, useServer, type TestServer } from './helpers/server.js';

/**
 * DTLS ahead (#15): a join may carry the browser's DTLS parameters, and the server connects both
 * new transports in it, so the first media waits for no `connectTransport` round trip. Real
 * workers and Socket.IO clients; the handshake itself is werift's (the DTLS a browser runs).
 */

const everyone: TestParticipant[] = [];
const links: MediaLink[] = [];

afterEach(async () => {
  await Promise.all(links.splice(0).map((link) => link.close()));
  await Promise.all(everyone.splice(0).map((participant) => participant.close()));
});

async function arrive(server: TestServer, name: string): Promise<TestParticipant> {
  const participant = await TestParticipant.connect(server.url, name);
  everyone.push(participant);
  return participant;
}

/** Joins with our DTLS parameters in the request, as a browser that can tell its certificate does. */
async function joinAhead(participant: TestParticipant, roomId: string): Promise<JoinResponse> {
  const dtlsParameters = await localDtlsParameters();
  const request = { roomId, displayName: participant.name, rtpCapabilities: participant.joinCapabilities(), dtlsParameters };
  participant.joined = unwrap(await participant.request('join', request), `${participant.name} join`);
  return participant.joined;
}

async function serverPeer(server: TestServer, roomId: string, peerId: string) {
  const room = (await server.rooms.list()).find((candidate) => candidate.id === roomId);
  const peer = room?.peers.get(peerId);
  if (!peer) throw new Error(`${peerId} is not in ${roomId}`);
  return peer;
}

describe('joining with DTLS parameters', () => {
  const server = useServer({ NUM_WORKERS: '2' });

  it('connects both transports in the join: the handshake completes and media goes out with no connectTransport', async () => {
    const ana = await arrive(server, 'Ana');
    const joined = await joinAhead(ana, 'ahead');
    expect(joined.sendTransport.connected).toBe(true);
    expect(joined.recvTransport.connected).toBe(true);

    // The server knows our fingerprint already: DTLS completes with nothing more said.
    links.push(await MediaLink.connect(joined.recvTransport, () => Promise.resolve(), { onRtp: () => undefined, onRtcp: () => undefined }));
    const peer = await serverPeer(server, 'ahead', ana.id);
    await eventually(() => peer.recvTransport.dtlsState === 'connected', { what: 'the server side of the handshake' });

    // A second connect is refused (not a second DTLS setup), and publishing needs none.
    const again = await ana.request('connectTransport', { transportId: joined.sendTransport.id, dtlsParameters: await localDtlsParameters() });
    expect(failureOf(again).code).toBe('BAD_REQUEST');
    unwrap(await ana.request('produce', ana.produceRequest('mic')), 'produce');
  });

  it('without them, a join is as before: the transports connect on request', async () => {
    const ben = await arrive(server, 'Ben');
    const joined = await ben.join('plain');
    expect(joined.sendTransport.connected).toBeUndefined();
    expect(joined.recvTransport.connected).toBeUndefined();
    await ben.produce('mic');
  });

  it('refuses parameters that could only fail at the handshake with a clear error, and the same connection joins again', async () => {
    const cy = await arrive(server, 'Cy');
    const bad = await cy.rawRequest('join', [
      {
        roomId: 'refused',
        displayName: 'Cy',
        rtpCapabilities: cy.joinCapabilities(),
        dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'not a fingerprint' }] },
      },
    ]);
    const error = failureOf(bad);
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/fingerprint/);
    const asServer = await cy.rawRequest('join', [
      { roomId: 'refused', displayName: 'Cy', rtpCapabilities: cy.joinCapabilities(), dtlsParameters: { ...(await localDtlsParameters()), role: 'server' } },
    ]);
    expect(failureOf(asServer).code).toBe('BAD_REQUEST');

    // Nothing was lost or left half made: the connection joins, and is the room's only participant.
    const joined = await joinAhead(cy, 'refused');
    expect(joined.participants).toEqual([]);
    const room = (await server.rooms.list()).find((candidate) => candidate.id === 'refused')!;
    expect([...room.peers.keys()]).toEqual([cy.id]);
  });

  it('a resumed place keeps its connected transports', async () => {
    const dee = await arrive(server, 'Dee');
    const joined = await joinAhead(dee, 'resumed');
    await dee.dropConnection();
    const back = await arrive(server, 'Dee again');
    unwrap(await back.resume(dee), 'resume');
    const again = await back.request('connectTransport', { transportId: joined.recvTransport.id, dtlsParameters: await localDtlsParameters() });
    expect(failureOf(again).message).toMatch(/already connected/);
    unwrap(await back.request('produce', back.produceRequest('mic')), 'produce after resume');
  });

  it('after the room moves off a dead worker, the new transports come unconnected and connect on request', async () => {
    const eve = await arrive(server, 'Eve');
    await joinAhead(eve, 'moved');
    unwrap(await eve.request('produce', eve.produceRequest('mic')), 'produce');
    const room = (await server.rooms.list()).find((candidate) => candidate.id === 'moved')!;
    process.kill(room.host.worker.pid, 'SIGKILL');
    const reset = await eve.waitFor('mediaReset', undefined, 20_000);
    expect(reset.sendTransport.connected).toBeUndefined();
    expect(reset.recvTransport.connected).toBeUndefined();
    eve.adoptMediaReset(reset);
    await eve.produce('mic');
  });
});
