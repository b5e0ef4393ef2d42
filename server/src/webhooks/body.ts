import { createHmac } from 'node:crypto';
import { redactStreamUrl } from '../../../shared/recording.js';
import type { WebhookActor, WebhookParticipant, WebhookPayload, WebhookRecording, WebhookStream } from '../../../shared/webhooks.js';

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
    case 'recording_started':
      return { event: payload.event, room: payload.room, recording: recordingOf(payload.recording), by: actorOf(payload.by) };
    case 'recording_finished': {
      const { bytes, durationSeconds } = payload.recording;
      return {
        event: payload.event,
        room: payload.room,
        recording: { ...recordingOf(payload.recording), bytes, durationSeconds },
        reason: payload.reason,
        ...(payload.error === undefined ? {} : { error: payload.error }),
      };
    }
    case 'stream_started':
      return { event: payload.event, room: payload.room, stream: streamOf(payload.stream), by: actorOf(payload.by) };
    case 'stream_failed':
      return {
        event: payload.event,
        room: payload.room,
        stream: streamOf(payload.stream),
        error: payload.error,
        attempt: payload.attempt,
        retrying: payload.retrying,
      };
    case 'stream_finished':
      return {
        event: payload.event,
        room: payload.room,
        stream: streamOf(payload.stream),
        reason: payload.reason,
        ...(payload.error === undefined ? {} : { error: payload.error }),
      };
  }
}

function recordingOf({ id, file, layout }: WebhookRecording): WebhookRecording {
  return { id, file, layout };
}

/** The URL is redacted again here, so no caller can hand a stream key to a receiver. */
function streamOf({ url, layout }: WebhookStream): WebhookStream {
  return { url: redactStreamUrl(url), layout };
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
