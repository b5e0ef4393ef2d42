import { describe, expect, it } from 'vitest';
import { MoveTickets } from '../../server/src/cluster/MoveTickets.js';
import { CLUSTER_SECRET } from './redisServer.js';

/** A stopping node's participants continue elsewhere with a ticket: only a genuine, fresh, unused one for that room counts. */
describe('move tickets', () => {
  const place = { roomId: 'standup', peerId: 'peer-1', displayName: 'Ana', role: 'host' as const, joinedAt: 1000 };

  it('a ticket issued by one node is taken by another of the same cluster, once', () => {
    const ticket = new MoveTickets(CLUSTER_SECRET).issue(place);
    const other = new MoveTickets(CLUSTER_SECRET);
    expect(other.take(ticket, 'standup')).toMatchObject(place);
    expect(other.take(ticket, 'standup')).toBeUndefined();
  });

  it('refuses a ticket for another room, of another cluster, altered, or expired', () => {
    let now = 0;
    const tickets = new MoveTickets(CLUSTER_SECRET, () => now);
    const ticket = tickets.issue(place);
    expect(tickets.take(ticket, 'another-room')).toBeUndefined();
    expect(new MoveTickets(`${CLUSTER_SECRET}-other`).take(ticket, 'standup')).toBeUndefined();
    const [body = '', signature = ''] = ticket.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), role: 'host', peerId: 'someone-else' })).toString(
      'base64url',
    );
    expect(tickets.take(`${forged}.${signature}`, 'standup')).toBeUndefined();
    expect(tickets.take('not a ticket', 'standup')).toBeUndefined();
    now = 61_000;
    expect(tickets.take(ticket, 'standup')).toBeUndefined();
  });
});
