import { createHmac } from 'node:crypto';
import type { WebhookActor, WebhookParticipant, WebhookPayload } from '../../../shared/webhooks.js';

/**
 * Only the documented fields, copied: a caller passing a richer object (a participant with its
 * connection or token) cannot leak it to the receiver. A new event needs its case here.
 */
export function fieldsOf(payload: WebhookPayload): WebhookPayload {
  switch (payload.event) {
    case 'room_started':
    case 'room_finished':
      return { event: payload.event, room: payload.room };
    case 'participant_joined':
    case 'participant_left':
      return { event: payload.event, room: payload.room, participant: participantOf(payload.participant) };
    case 'participant_removed':
      return {
        event: payload.event,
        room: payload.room,
        participant: participantOf(payload.participant),
        by: actorOf(payload.by),
        reason: payload.reason,
        ban: payload.ban,
      };
  }
}

function participantOf({ id, name, role }: WebhookParticipant): WebhookParticipant {
  return { id, name, role };
}

function actorOf(by: WebhookActor): WebhookActor {
  if (by === null) return null;
  return 'admin' in by ? { admin: true } : { id: by.id, name: by.name };
}

/**
 * `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>` under the secret (docs/webhooks.md). The
 * timestamp is signed with the body, so a captured request cannot be replayed later as a new one.
 */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
