import { describe, expect, it } from 'vitest';
import { ProduceRequest, Requests, type RequestOf } from '../shared/protocol.js';
import { dataHandlers } from '../server/src/signaling/data.js';
import { composeHandlers } from '../server/src/signaling/handlers.js';
import { mediaHandlers } from '../server/src/signaling/media.js';
import { moderationHandlers } from '../server/src/signaling/moderation.js';
import { recordingHandlers } from '../server/src/signaling/recording.js';
import { roomHandlers } from '../server/src/signaling/room.js';
import { transportHandlers } from '../server/src/signaling/transports.js';

// These checks are made by the compiler (`tsc --noEmit` covers test/): each @ts-expect-error
// fails the type check if the line below it ever compiles.

describe('the protocol is whole', () => {
  it('has one handler for every request, and a table missing a domain or repeating one does not compile', () => {
    const table = composeHandlers(roomHandlers, transportHandlers, mediaHandlers, dataHandlers, moderationHandlers, recordingHandlers);
    expect(Object.keys(table).sort()).toEqual(Object.keys(Requests).sort());

    // @ts-expect-error produceData, dataSync, offerFile and cancelFile have no handler
    composeHandlers(roomHandlers, transportHandlers, mediaHandlers, moderationHandlers, recordingHandlers);
    // @ts-expect-error connectTransport and restartIce would be handled twice
    composeHandlers(roomHandlers, transportHandlers, mediaHandlers, dataHandlers, moderationHandlers, recordingHandlers, transportHandlers);
    // @ts-expect-error a handler for a request the protocol does not define
    composeHandlers(roomHandlers, transportHandlers, mediaHandlers, dataHandlers, moderationHandlers, recordingHandlers, { ping: () => ({}) });
  });

  it('a produce request whose kind is not its source’s neither compiles nor parses', () => {
    const base = { transportId: 't', rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000 }] } };
    const mic: RequestOf<'produce'> = { ...base, source: 'mic', kind: 'audio' };
    expect(ProduceRequest.safeParse(mic).success).toBe(true);

    // @ts-expect-error a microphone is audio
    const micAsVideo: RequestOf<'produce'> = { ...base, source: 'mic', kind: 'video' };
    // @ts-expect-error a camera is video
    const cameraAsAudio: RequestOf<'produce'> = { ...base, source: 'camera', kind: 'audio' };
    // @ts-expect-error a shared screen is video
    const screenAsAudio: RequestOf<'produce'> = { ...base, source: 'screen', kind: 'audio' };
    for (const request of [micAsVideo, cameraAsAudio, screenAsAudio]) {
      const parsed = ProduceRequest.safeParse(request);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.message).toBe(`A ${request.source} track must be ${request.source === 'mic' ? 'audio' : 'video'}`);
    }
  });
});
