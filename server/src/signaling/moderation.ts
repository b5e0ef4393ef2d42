import { ConclaveError } from '../../../shared/errors.js';
import type { Actor } from '../../../shared/moderation.js';
import { moderates } from '../../../shared/roles.js';
import type { Meeting } from '../moderation/Meeting.js';
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

/** Someone in the sender's own room: nobody can act on a participant of another room. */
function target({ meeting }: Acting, peerId: string): Peer {
  const peer = meeting.room.peers.get(peerId);
  if (!peer) throw new ConclaveError('NOT_FOUND', 'No such participant in this meeting');
  return peer;
}

/** Running the meeting (hosts and moderators), and hands and reactions (everyone). */
export const moderationHandlers = {
  async muteParticipant(connection, { peerId, source }) {
    const acting = moderator(connection);
    await acting.meeting.mute(acting.actor, target(acting, peerId), source);
    return {};
  },

  async muteAll(connection) {
    const { meeting, actor } = moderator(connection);
    return { muted: await meeting.muteAll(actor) };
  },

  askToUnmute(connection, { peerId }) {
    const acting = moderator(connection);
    acting.meeting.askToUnmute(acting.actor, target(acting, peerId));
    return {};
  },

  async removeParticipant(connection, { peerId, ban }) {
    const acting = moderator(connection);
    await acting.meeting.remove(acting.actor, target(acting, peerId), ban);
    return {};
  },

  async setRole(connection, { peerId, role }) {
    const acting = moderator(connection, true);
    await acting.meeting.setRole(acting.actor, target(acting, peerId), role);
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
    const acting = peerId === undefined || peerId === connection.joined().peer.id ? member(connection) : moderator(connection);
    await acting.meeting.lowerHand(acting.actor, peerId === undefined ? acting.peer : target(acting, peerId));
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
