import type { Socket } from 'socket.io';
import { PROTOCOL_VERSION, Requests } from '../../../shared/protocol.js';
import { Connection, type ConclaveServer, type SignalingContext } from './connection.js';
import { dataHandlers } from './data.js';
import { failure, registerHandlers, splitArgs } from './dispatch.js';
import { composeHandlers } from './handlers.js';
import { clientAddress } from '../http/clientAddress.js';
import { mediaHandlers } from './media.js';
import { moderationHandlers } from './moderation.js';
import { recordingHandlers } from './recording.js';
import { connectionLost, leaveRoom, roomHandlers } from './room.js';
import { transportHandlers } from './transports.js';

const handlers = composeHandlers(roomHandlers, transportHandlers, mediaHandlers, dataHandlers, moderationHandlers, recordingHandlers);

/** Wires every signalling domain onto each new socket. */
export function attachSignaling(io: ConclaveServer, context: SignalingContext): void {
  io.on('connection', (socket) => {
    const address = clientAddress(socket.request, context.trustedProxies);
    const connection = new Connection(socket, context, context.log.child({ socket: socket.id }), address);
    registerHandlers(connection, handlers);

    (socket as unknown as Socket).onAny((event: unknown, ...args: unknown[]) => {
      if (typeof event === 'string' && Object.hasOwn(Requests, event)) return;
      const { ack } = splitArgs(args);
      // Unknown events spend from the same budget, so they cannot be used to flood either.
      if (!connection.rateLimiter.take()) ack?.(failure('RATE_LIMITED', 'Too many requests; slow down'));
      else ack?.(failure('BAD_REQUEST', `Unknown request ${JSON.stringify(String(event)).slice(0, 80)}`));
    });

    socket.on('disconnect', (reason) => {
      connection.log.debug({ reason }, 'socket disconnected');
      connection.leaveLobby();
      // A client that disconnects on purpose has left; anything else may come back.
      if (reason === 'client namespace disconnect') leaveRoom(connection, 'disconnected');
      else connectionLost(connection);
    });

    connection.notify('welcome', {
      protocolVersion: PROTOCOL_VERSION,
      serverVersion: context.version,
      routerRtpCapabilities: context.routerRtpCapabilities,
      ...(context.cluster ? { nodes: context.cluster.nodeUrls() } : {}),
    });
  });
}
