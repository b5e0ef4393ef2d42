import type { Actor } from '../../../shared/moderation.js';
import type { RemovalReason } from '../../../shared/protocol.js';
import type { WebhookActor, WebhookParticipant } from '../../../shared/webhooks.js';
import type { MeetingObserver } from '../moderation/Meeting.js';
import type { Peer } from '../rooms/Peer.js';
import type { Room } from '../rooms/Room.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import type { Webhooks } from './Webhooks.js';

/** In a cluster whose rooms span nodes: whether this node's part of a room is its first, or its last. */
export interface RoomSpanView {
  opensRoom(room: Room): Promise<boolean>;
  closesRoom(room: Room): Promise<boolean>;
}

/**
 * Rooms' lives as webhook events: started, participants joined and left, finished. Returns the
 * meeting observer that adds `participant_removed` (who took whom out, and whether banned). With
 * rooms spanning nodes (`span`), a room starts on the node it opens on first and finishes on the
 * node it closes on last: once for the cluster, not once per node.
 */
export function reportRoomEvents(rooms: RoomRegistry, webhooks: Webhooks, span?: RoomSpanView): MeetingObserver {
  const onlyIf = (check: Promise<boolean> | undefined, emit: () => void): void => {
    if (!check) return emit();
    void check.then((yes) => yes && emit(), emit);
  };
  rooms.on('created', (room) => {
    onlyIf(span?.opensRoom(room), () => webhooks.emit({ event: 'room_started', room: room.id }));
    room.on('joined', (peer) => webhooks.emit({ event: 'participant_joined', room: room.id, participant: participantOf(peer) }));
    room.on('left', (peer) => webhooks.emit({ event: 'participant_left', room: room.id, participant: participantOf(peer) }));
    room.once('closed', () => onlyIf(span?.closesRoom(room), () => webhooks.emit({ event: 'room_finished', room: room.id })));
  });
  return {
    removed: (room, peer, by, reason) =>
      webhooks.emit({
        event: 'participant_removed',
        room: room.id,
        participant: participantOf(peer),
        by: actorOf(by),
        reason,
        ban: reason === ('banned' satisfies RemovalReason),
      }),
  };
}

function participantOf(peer: Peer): WebhookParticipant {
  return { id: peer.id, name: peer.displayName, role: peer.role };
}

function actorOf(actor: Actor): WebhookActor {
  return 'admin' in actor ? { admin: true } : { id: actor.peerId, name: actor.displayName };
}
