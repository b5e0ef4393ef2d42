import { ConclaveError } from '../../../shared/errors.js';
import type { Actor } from '../../../shared/moderation.js';
import { moderates } from '../../../shared/roles.js';
import type { Meeting } from '../moderation/Meeting.js';
import { carryOut, type TargetAction } from '../moderation/targetActions.js';
import type { Peer } from '../rooms/Peer.js';
import type { Connection } from './connection.js';
import type { Domain } from './handlers.js';

interface Acting {
  meeting: Meeting;
  peer: Peer;
  actor: Actor;
}

/** The sender's meeting, if they are a host or moderator (or a host, with `hostOnly`); FORBIDDEN otherwise. */
export function moderator(connection: Connection, hostOnly = false): Acting {
  const acting = member(connection);
  const allowed = hostOnly ? acting.peer.role === 'host' : moderates(acting.peer.role);
  if (!allowed) throw new ConclaveError('FORBIDDEN', hostOnly ? 'Only a host can do that' : 'Only hosts and moderators can do that');
  return acting;
}

function member(connection: Connection): Acting {
  const { room, peer } = connection.joined();
  return { meeting: connection.context.meetings.of(room), peer, actor: { peerId: peer.id, displayName: peer.displayName } };
}

/**
 * Does `action` to someone in the sender's own room (nobody can act on a participant of another
 * room): here, or, in a room spanning nodes, on the node they are on.
 */
async function actOn(connection: Connection, { meeting, actor }: Acting, peerId: string, action: TargetAction): Promise<void> {
  const { room } = meeting;
  const peer = room.peers.get(peerId);
  if (peer) return carryOut(meeting, actor, peer, action);
  const remote = room.remote.get(peerId);
  const cluster = connection.context.cluster;
  if (!remote || !cluster) throw new ConclaveError('NOT_FOUND', 'No such participant in this meeting');
  await cluster.moderate(remote.node, { roomId: room.id, peerId, by: actor, action });
}

/** Running the meeting (hosts and moderators), and hands and reactions (everyone). */
export const moderationHandlers = {
  async muteParticipant(connection, { peerId, source }) {
    await actOn(connection, moderator(connection), peerId, { kind: 'mute', source });
    return {};
  },

  async muteAll(connection) {
    const { meeting, actor } = moderator(connection);
    return { muted: await meeting.muteAll(actor) };
  },

  async askToUnmute(connection, { peerId }) {
    await actOn(connection, moderator(connection), peerId, { kind: 'askToUnmute' });
    return {};
  },

  async removeParticipant(connection, { peerId, ban }) {
    await actOn(connection, moderator(connection), peerId, { kind: 'remove', ban });
    return {};
  },

  async setRole(connection, { peerId, role }) {
    await actOn(connection, moderator(connection, true), peerId, { kind: 'setRole', role });
    return {};
  },

  async setPolicy(connection, patch) {
    const { meeting, actor } = moderator(connection);
    return { policy: await meeting.setPolicy(actor, patch) };
  },

  async answerKnocks(connection, { admit, knockIds }) {
    const { meeting, actor } = moderator(connection);
    return { answered: await meeting.answerKnocks(actor, admit, knockIds) };
  },

  async endMeeting(connection) {
    const { meeting, actor } = moderator(connection);
    await meeting.end(actor);
    return {};
  },

  /** Your own hand, or (hosts and moderators) someone else's. */
  async lowerHand(connection, { peerId }) {
    if (peerId === undefined || peerId === connection.joined().peer.id) {
      const acting = member(connection);
      await acting.meeting.lowerHand(acting.actor, acting.peer);
    } else {
      await actOn(connection, moderator(connection), peerId, { kind: 'lowerHand' });
    }
    return {};
  },

  async lowerAllHands(connection) {
    const { meeting, actor } = moderator(connection);
    await meeting.lowerAllHands(actor);
    return {};
  },

  async raiseHand(connection) {
    const { meeting, peer } = member(connection);
    await meeting.raiseHand(peer);
    return {};
  },

  react(connection, { reaction }) {
    const { meeting, peer } = member(connection);
    meeting.react(peer, reaction);
    return {};
  },
} satisfies Domain;
