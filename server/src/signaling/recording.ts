import type { Domain } from './handlers.js';
import { moderator } from './moderation.js';

/** Recording and live streaming the meeting (hosts and moderators; server/src/recording). */
export const recordingHandlers = {
  startRecording(connection, { layout }) {
    const { meeting, actor } = moderator(connection);
    return connection.context.recordings.start(meeting.room, { kind: 'recording', layout, by: actor });
  },

  stopRecording(connection) {
    const { meeting, actor } = moderator(connection);
    return connection.context.recordings.stop(meeting.room.id, 'recording', actor);
  },

  startStream(connection, { url, layout }) {
    const { meeting, actor } = moderator(connection);
    return connection.context.recordings.start(meeting.room, { kind: 'stream', layout, url, by: actor });
  },

  stopStream(connection) {
    const { meeting, actor } = moderator(connection);
    return connection.context.recordings.stop(meeting.room.id, 'stream', actor);
  },
} satisfies Domain;
