import { parentPort, workerData } from 'node:worker_threads';
import { loadSyntheticMedia } from './media.js';
import type { FromThread, ThreadData, ToThread } from './protocol.js';
import { SyntheticParticipant } from './SyntheticParticipant.js';
import { MediaClock } from './sending.js';

/** A worker thread running some of the load test's synthetic participants (one event loop carries ~100). */
const port = parentPort;
if (!port) throw new Error('thread.ts runs as a worker thread of the load test');
const data = workerData as ThreadData;
const media = data.media ? await loadSyntheticMedia() : null;
const clock = new MediaClock();
const participants = new Map<number, SyntheticParticipant>();
const post = (message: FromThread): void => port.postMessage(message);

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'join': {
      const participant = new SyntheticParticipant(message.plan, { url: data.url, token: message.token, maxVideos: data.maxVideos, media, clock });
      participants.set(message.id, participant);
      void participant.join().then(() => {
        const { startedAt, joinMs, peerId, error } = participant.record;
        post({ type: 'joined', id: message.id, record: { startedAt, joinMs, peerId, error } });
      });
      return;
    }
    case 'sample': {
      const list = [...participants].map(([id, participant]) => {
        const sample = participant.joined ? participant.sample() : null;
        const { joinMs, peerId, error, streams } = participant.record;
        return { id, sample, record: message.detail ? { joinMs, peerId, error, streams } : { joinMs, peerId, error } };
      });
      post({ type: 'samples', round: message.round, list });
      return;
    }
    case 'close':
      void Promise.all([...participants.values()].map((participant) => participant.close())).then(() => {
        post({ type: 'closed' });
        port.close();
      });
  }
});
