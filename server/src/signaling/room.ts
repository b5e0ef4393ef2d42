import type { LeaveReason } from '../../../shared/diagnostics.js';
import { ConclaveError, RedirectError } from '../../../shared/errors.js';
import type { JoinResponse, LeaveBeacon, ParsedRequestOf } from '../../../shared/protocol.js';
import { isMediasoupHeaderExtension } from '../../../shared/rtp.js';
import { TokenError, tokenVerifierFor } from '../auth/token.js';
import { iceServersFor } from '../media/iceServers.js';
import { nameKey } from '../moderation/Meeting.js';
import { transportInfo, type Role } from '../rooms/Peer.js';
import { Session } from '../session/Session.js';
import type { SessionRegistry } from '../session/SessionRegistry.js';
import type { Connection } from './connection.js';
import type { Domain } from './handlers.js';
import { connectAhead } from './transports.js';

/** Joining, leaving, and taking one's place back after a dropped connection. */
export const roomHandlers = {
  async join(connection, request, scope): Promise<JoinResponse> {
    const { context } = connection;
    if (context.draining) throw new ConclaveError('SHUTTING_DOWN', 'The server is shutting down; try again in a moment');
    if (connection.state !== 'lobby') {
      throw new ConclaveError('ALREADY_JOINED', 'This connection already joined a room');
    }
    // Joining from here on, before the first await: a resume or a second join meanwhile is refused.
    connection.state = 'joining';
    const attempt = ++connection.attempt;
    const session = new Session(connection, context.sessions, connection.log);
    try {
      const identity = await admit(connection, request);
      // Continuing a place held on a stopping node of the cluster: the same id, name and role, no lobby.
      const move = request.move === undefined ? undefined : await context.cluster?.takeMove(request.move, request.roomId);
      if (request.move !== undefined && !move) connection.log.info('a move ticket did not check out: an ordinary join');
      const displayName = move?.displayName ?? identity.displayName;
      if (connection.attempt !== attempt) throw new ConclaveError('NOT_JOINED', 'Left while joining');
      const home = await context.cluster?.homeOf(request.roomId, { openHere: context.rooms.get(request.roomId) !== undefined });
      if (home) throw new RedirectError(home.publicUrl, `This room is hosted by node ${home.id}: join at ${home.publicUrl}`);
      if (connection.attempt !== attempt) throw new ConclaveError('NOT_JOINED', 'Left while joining');
      const room = await context.rooms.getOrCreate(request.roomId);
      // A room spanning nodes: its participants elsewhere are known before the answer lists them.
      await context.cluster?.spanReady(room);
      const meeting = context.meetings.of(room);
      const { role, lockOnWelcome } = await meeting.checkEntry({
        displayName,
        tokenRole: move?.role ?? identity.tokenRole,
        banKeys: identity.banKeys,
        // With tokens, only the token can ask for the lobby.
        wantsLobby: identity.tokenRole === undefined ? request.lobby : identity.lobby,
        admitted: move !== undefined || connection.takeAdmission(room, displayName),
        waiter: connection.waiter(room, meeting.lobby),
      });
      const peer = await room.join({
        displayName,
        role,
        rtpCapabilities: {
          ...request.rtpCapabilities,
          headerExtensions: request.rtpCapabilities.headerExtensions?.filter(isMediasoupHeaderExtension),
        },
        dataChannels: request.dataChannels,
        session,
        banKeys: identity.banKeys,
        ...(move ? { continues: { peerId: move.peerId, joinedAt: move.joinedAt } } : {}),
      });
      const connectedAhead = request.dtlsParameters
        ? await connectAhead(peer, request.dtlsParameters).then(
            () => true,
            (error: unknown) => {
              // mediasoup refuses bad parameters with a TypeError: the place is given up, nothing half made stays.
              if (error instanceof TypeError) {
                room.leave(peer);
                throw new ConclaveError('BAD_REQUEST', `The join's DTLS parameters were refused: ${error.message}`);
              }
              // Anything else is the worker failing under us: the room moves to another and sends
              // new transports (mediaReset), so the join stands, its transports answered unconnected.
              connection.log.warn({ err: error }, 'connecting the transports ahead failed; the join goes on without');
              return false;
            },
          )
        : false;
      if (!connection.socket.connected || connection.attempt !== attempt) {
        room.leave(peer);
        throw new ConclaveError('NOT_JOINED', 'Left or disconnected while joining');
      }
      const connected = connectedAhead ? { connected: true as const } : {};
      session.enter(room, peer);
      connection.session = session;
      connection.state = 'joined';
      scope.afterReply(() => {
        session.startEvents();
        meeting.welcome(peer, lockOnWelcome).catch((error: unknown) => connection.log.error({ err: error }, 'welcoming to the meeting failed'));
        context.recordings.welcome(room, peer);
        room.consumeExisting(peer).catch((error: unknown) => connection.log.error({ err: error }, 'consuming existing producers failed'));
      });
      return {
        roomId: room.id,
        self: peer.info,
        sendTransport: { ...transportInfo(peer.sendTransport), ...connected },
        recvTransport: { ...transportInfo(peer.recvTransport), ...connected },
        iceServers: iceServersFor(context.config, peer.id),
        participants: room.participants(peer),
        resumeToken: peer.resumeToken,
        reconnectGraceMs: context.config.RECONNECT_GRACE_SECONDS * 1000,
        policy: meeting.policy,
      };
    } catch (error) {
      if (connection.attempt === attempt) connection.state = 'lobby';
      throw error;
    }
  },

  leave(connection) {
    connection.leaveLobby();
    leaveRoom(connection, 'left');
    return {};
  },

  /** A new connection proves it is a peer in its grace period and gets the place and queued notifications back. */
  resume(connection, { peerId, resumeToken }, scope) {
    if (connection.state !== 'lobby') throw new ConclaveError('ALREADY_JOINED', 'This connection already joined a room');
    const session = connection.context.sessions.find(peerId);
    if (!session?.admits(resumeToken)) {
      throw new ConclaveError('RESUME_FAILED', 'That place is gone (the grace period passed or the room closed); join again');
    }
    const { room, peer } = session;
    if (session.lostNotifications) {
      session.leave('resumeFailed');
      throw new ConclaveError('RESUME_FAILED', 'Too much happened while disconnected; join again');
    }
    connection.attempt++;
    const wasReconnecting = session.takeOver(connection);
    connection.session = session;
    connection.state = 'joined';
    connection.log.info({ peer: peer.id, room: room.id }, 'participant resumed');
    // Queued notifications follow the answer, in their original order.
    scope.afterReply(() => {
      // A leave beacon (the tab closing) can land between the answer and this: the place is gone.
      if (peer.isClosed) {
        if (connection.session === session) leaveRoom(connection, 'beacon');
        return;
      }
      session.attach(connection);
      if (wasReconnecting) room.broadcast('participantConnection', { peerId: peer.id, reconnecting: false }, peer);
    });
    return {};
  },
} satisfies Domain;

interface Identity {
  displayName: string;
  /** The token's role; undefined without tokens (the meeting decides). */
  tokenRole: Role | undefined;
  /** The token asks for the lobby when its holder creates the room. */
  lobby: boolean;
  /** What a ban on this person bars: their name, and their token's subject and id. */
  banKeys: string[];
}

/** Who is joining: from the token when the server requires one, else from the request. */
async function admit(connection: Connection, request: ParsedRequestOf<'join'>): Promise<Identity> {
  const verifier = tokenVerifierFor(connection.context.config);
  if (!verifier) return { displayName: request.displayName, tokenRole: undefined, lobby: false, banKeys: [nameKey(request.displayName)] };
  if (!request.token) throw new ConclaveError('NOT_AUTHORIZED', 'This server requires a join token');
  let claims;
  try {
    claims = await verifier.verify(request.token);
  } catch (error) {
    if (error instanceof TokenError) throw new ConclaveError('NOT_AUTHORIZED', error.message);
    throw error;
  }
  if (claims.room !== request.roomId) throw new ConclaveError('NOT_AUTHORIZED', `This token is for another room`);
  const banKeys = [nameKey(claims.name), ...(claims.sub ? [`sub:${claims.sub}`] : []), ...(claims.jti ? [`jti:${claims.jti}`] : [])];
  return { displayName: claims.name, tokenRole: claims.role ?? 'participant', lobby: claims.lobby ?? false, banKeys };
}

/** Leaves whatever room the connection is in, now; safe to call twice. */
export function leaveRoom(connection: Connection, reason: LeaveReason): void {
  const session = connection.session;
  connection.release();
  session?.leave(reason);
}

/**
 * A closing tab's beacon: the participant leaves now rather than after the reconnect grace period
 * (its socket's own leave may never get out of a page being torn down). False when there is no
 * such participant or the token is not theirs; a second leave, by beacon or socket, finds none.
 */
export function leaveByBeacon(sessions: SessionRegistry, { peerId, resumeToken }: LeaveBeacon): boolean {
  const session = sessions.find(peerId);
  if (!session?.admits(resumeToken)) return false;
  session.leave('beacon');
  return true;
}

/** The connection dropped without a leave: its session keeps the place for the grace period. */
export function connectionLost(connection: Connection): void {
  const session = connection.session;
  connection.release();
  session?.lost(connection);
}
