import { ConclaveError } from '../../../shared/errors.js';
import type { JoinResponse } from '../../../shared/protocol.js';
import { isMediasoupHeaderExtension } from '../../../shared/rtp.js';
import { iceServersFor } from '../media/iceServers.js';
import { transportInfo } from '../rooms/Peer.js';
import type { Connection, HandlerMap } from './connection.js';

/** Joining and leaving a room. */
export const roomHandlers: HandlerMap = {
  async join(connection, request, scope): Promise<JoinResponse> {
    if (connection.state !== 'lobby') {
      throw new ConclaveError('ALREADY_JOINED', 'This connection already joined a room');
    }
    connection.state = 'joining';
    try {
      const { rooms } = connection.context;
      const room = await rooms.getOrCreate(request.roomId);
      const peer = await room.join({
        displayName: request.displayName,
        rtpCapabilities: {
          ...request.rtpCapabilities,
          headerExtensions: request.rtpCapabilities.headerExtensions?.filter(isMediasoupHeaderExtension),
        },
        notify: (event, payload) => connection.notify(event, payload),
      });
      if (!connection.socket.connected) {
        room.leave(peer);
        throw new ConclaveError('NOT_JOINED', 'Disconnected while joining');
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
        iceServers: iceServersFor(connection.context.config, peer.id),
        participants: [...room.peers.values()].filter((other) => other !== peer).map((other) => other.info),
      };
    } catch (error) {
      if (connection.state === 'joining') connection.state = 'lobby';
      throw error;
    }
  },

  leave(connection) {
    leaveRoom(connection);
    return {};
  },
};

/** Leaves whatever room the connection is in; safe to call twice (leave then disconnect). */
export function leaveRoom(connection: Connection): void {
  const membership = connection.membership;
  connection.membership = undefined;
  connection.state = 'lobby';
  membership?.room.leave(membership.peer);
}
