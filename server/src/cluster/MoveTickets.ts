import { createHmac, hkdfSync, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { Role } from '../../../shared/roles.js';

/** How long a participant of a stopping node has to take their place on another. */
const TICKET_LIFETIME_MS = 60_000;

/** Who a ticket lets continue, and where. */
const Move = z.object({
  roomId: z.string().min(1).max(64),
  peerId: z.string().min(1).max(64),
  displayName: z.string().max(200),
  role: Role,
  joinedAt: z.number(),
  expiresAt: z.number(),
  /** One ticket, one use. */
  id: z.uuid(),
});
export type Move = z.infer<typeof Move>;

/**
 * Tickets a stopping node gives its participants (`serverShutdown.moveTicket`) so that another
 * node seats them in the same place: same participant id and role, no lobby. Signed with a key
 * derived from CLUSTER_SECRET, so any node of the cluster can check one without asking; each is
 * taken once and expires within a minute.
 */
export class MoveTickets {
  private readonly key: Buffer;
  /** Tickets already taken here, until they would have expired anyway. */
  private readonly taken = new Map<string, number>();

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'conclave-cluster', 'move-ticket', 32));
  }

  issue(move: Omit<Move, 'expiresAt' | 'id'>): string {
    const body = Buffer.from(JSON.stringify({ ...move, expiresAt: this.now() + TICKET_LIFETIME_MS, id: randomUUID() })).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /** The move a ticket for `roomId` grants, once; undefined when it is forged, expired, used or for another room. */
  take(ticket: string, roomId: string): Move | undefined {
    const [body = '', signature = ''] = ticket.split('.');
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let move: Move;
    try {
      move = Move.parse(JSON.parse(Buffer.from(body, 'base64url').toString()));
    } catch {
      return undefined;
    }
    const now = this.now();
    for (const [id, expiresAt] of this.taken) if (expiresAt < now) this.taken.delete(id);
    if (move.roomId !== roomId || move.expiresAt < now || this.taken.has(move.id)) return undefined;
    this.taken.set(move.id, move.expiresAt);
    return move;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
