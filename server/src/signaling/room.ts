import { timingSafeEqual } from 'node:crypto';
import { ConclaveError } from '../../../shared/errors.js';
import type { JoinResponse, LeaveBeacon, ParsedRequestOf } from '../../../shared/protocol.js';
import { isMediasoupHeaderExtension } from '../../../shared/rtp.js';
import { TokenError, verifyToken } from '../auth/token.js';
import { iceServersFor } from '../media/iceServers.js';
import { transportInfo, type Role } from '../rooms/Peer.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { Connection } from './connection.js';
import type { Domain } from './handlers.js';

/** Joining, leaving, and taking one's place back after a dropped connection. */
export const roomHandlers = {
  async join(connection, request, scope): Promise<JoinResponse> {
    const { context } = connection;
    if (context.draining) throw new ConclaveError('SHUTTING_DOWN', 'The server is shutting down; try again in a moment');
    if (connection.state !== 'lobby') {
      throw new ConclaveError('ALREADY_JOINED', 'This connection already joined a room');
    }
    const { displayName, role } = admit(connection, request);
    connection.state = 'joining';
    const attempt = ++connection.attempt;
    try {
      const room = await context.rooms.getOrCreate(request.roomId);
      const peer = await room.join({
        displayName,
        role,
        rtpCapabilities: {
          ...request.rtpCapabilities,
          headerExtensions: request.rtpCapabilities.headerExtensions?.filter(isMediasoupHeaderExtension),
        },
        dataChannels: request.dataChannels,
        sink: connection,
      });
      if (!connection.socket.connected || connection.attempt !== attempt) {
        room.leave(peer);
        throw new ConclaveError('NOT_JOINED', 'Left or disconnected while joining');
      }
      connection.membership = { room, peer };
      connection.state = 'joined';
      scope.afterReply(() => {
        room.consumeExisting(peer).catch((error: unknown) => connection.log.error({ err: error }, 'consuming existing producers failed'));
      });
      return {
        roomId: room.id,
        self: peer.info,
        sendTransport: transportInfo(peer.sendTransport),
        recvTransport: transportInfo(peer.recvTransport),
        iceServers: iceServersFor(context.config, peer.id),
        participants: [...room.peers.values()].filter((other) => other !== peer).map((other) => other.info),
        resumeToken: peer.resumeToken,
        reconnectGraceMs: context.config.RECONNECT_GRACE_SECONDS * 1000,
      };
    } catch (error) {
      if (connection.attempt === attempt) connection.state = 'lobby';
      throw error;
    }
  },

  leave(connection) {
    leaveRoom(connection);
    return {};
  },

  /** A new connection proves it is a peer in its grace period and gets the place and queued notifications back. */
  async resume(connection, { peerId, resumeToken }, scope) {
    if (connection.state !== 'lobby') throw new ConclaveError('ALREADY_JOINED', 'This connection already joined a room');
    // Claimed before the lookup so a join or a second resume in the same tick cannot also succeed.
    connection.state = 'joining';
    const attempt = ++connection.attempt;
    const found = await connection.context.rooms.findPeer(peerId);
    if (connection.attempt !== attempt) throw new ConclaveError('NOT_JOINED', 'Left or disconnected while resuming');
    if (!found || !sameSecret(found.peer.resumeToken, resumeToken) || found.peer.isClosed) {
      connection.state = 'lobby';
      throw new ConclaveError('RESUME_FAILED', 'That place is gone (the grace period passed or the room closed); join again');
    }
    const { room, peer } = found;
    if (peer.link.lostNotifications) {
      connection.state = 'lobby';
      room.leave(peer);
      throw new ConclaveError('RESUME_FAILED', 'Too much happened while disconnected; join again');
    }
    clearTimeout(peer.graceTimer);
    peer.graceTimer = undefined;
    const wasReconnecting = !peer.link.connected;
    // The server may not have noticed the old connection die yet: this one takes over.
    const previous = peer.link.current;
    if (previous instanceof Connection && previous !== connection) {
      previous.membership = undefined;
      previous.state = 'lobby';
      previous.socket.disconnect(true);
    }
    connection.membership = found;
    connection.state = 'joined';
    connection.log.info({ peer: peer.id, room: room.id }, 'participant resumed');
    // Queued notifications follow the answer, in their original order.
    scope.afterReply(() => {
      // A leave beacon (the tab closing) can land between the answer and this: the place is gone.
      if (peer.isClosed) {
        if (connection.membership?.peer === peer) leaveRoom(connection);
        return;
      }
      peer.link.attach(connection);
      if (wasReconnecting) room.broadcast('participantConnection', { peerId: peer.id, reconnecting: false }, peer);
    });
    return {};
  },
} satisfies Domain;

/** Display name and role for a join: from the token when the server requires one. */
function admit(connection: Connection, request: ParsedRequestOf<'join'>): { displayName: string; role: Role } {
  const secret = connection.context.config.AUTH_SECRET;
  if (!secret) return { displayName: request.displayName, role: 'participant' };
  if (!request.token) throw new ConclaveError('NOT_AUTHORIZED', 'This server requires a join token');
  let claims;
  try {
    claims = verifyToken(secret, request.token);
  } catch (error) {
    if (error instanceof TokenError) throw new ConclaveError('NOT_AUTHORIZED', error.message);
    throw error;
  }
  if (claims.room !== request.roomId) throw new ConclaveError('NOT_AUTHORIZED', `This token is for another room`);
  return { displayName: claims.name, role: claims.role ?? 'participant' };
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Leaves whatever room the connection is in, now; safe to call twice. */
export function leaveRoom(connection: Connection): void {
  connection.attempt++;
  const membership = connection.membership;
  connection.membership = undefined;
  connection.state = 'lobby';
  membership?.room.leave(membership.peer);
}

/**
 * A closing tab's beacon: the participant leaves now rather than after the reconnect grace period
 * (its socket's own leave may never get out of a page being torn down). False when there is no
 * such participant or the token is not theirs; a second leave, by beacon or socket, finds none.
 */
export async function leaveByBeacon(rooms: RoomRegistry, { peerId, resumeToken }: LeaveBeacon): Promise<boolean> {
  const found = await rooms.findPeer(peerId);
  if (!found || found.peer.isClosed || !sameSecret(found.peer.resumeToken, resumeToken)) return false;
  const current = found.peer.link.current;
  if (current instanceof Connection && current.membership?.peer === found.peer) leaveRoom(current);
  else found.room.leave(found.peer);
  return true;
}

/**
 * The connection dropped without a leave: keep the participant's place and media for the grace
 * period, queueing its notifications, unless a newer connection already took over.
 */
export function connectionLost(connection: Connection): void {
  connection.attempt++;
  const membership = connection.membership;
  connection.membership = undefined;
  connection.state = 'lobby';
  if (!membership) return;
  const { room, peer } = membership;
  if (peer.isClosed || !peer.link.isAttachedTo(connection)) return;
  const graceMs = connection.context.config.RECONNECT_GRACE_SECONDS * 1000;
  if (graceMs === 0 || connection.context.draining) {
    room.leave(peer);
    return;
  }
  peer.link.detach();
  room.broadcast('participantConnection', { peerId: peer.id, reconnecting: true }, peer);
  peer.graceTimer = setTimeout(() => {
    connection.log.info({ peer: peer.id }, 'reconnect grace period over; removing participant');
    room.leave(peer);
  }, graceMs);
  peer.graceTimer.unref();
}
