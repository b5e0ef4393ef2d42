import type { types } from 'mediasoup-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Reception, spatialLayerFor } from '../client/src/conference/reception.js';
import type { RequestOf } from '../shared/protocol.js';

type Sent = RequestOf<'setConsumerPreferences'>;

/** Just what Reception reads of a mediasoup-client consumer. */
function fakeConsumer(id: string, kind: 'audio' | 'video', scalabilityMode?: string): types.Consumer {
  return { id, kind, closed: false, rtpParameters: { codecs: [], encodings: [{ scalabilityMode }] } } as unknown as types.Consumer;
}

describe('receiving only what the view shows', () => {
  let sent: Sent[];
  let reception: Reception;

  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    reception = new Reception((request) => {
      sent.push(request);
      return Promise.resolve();
    }, true);
  });

  afterEach(() => {
    reception.clear();
    vi.useRealTimers();
  });

  it('picks the layer by drawn height, within the layers there are', () => {
    expect([90, 200, 201, 400, 401, 1080].map((height) => spatialLayerFor(height, 3))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(spatialLayerFor(1080, 2)).toBe(1);
    expect(spatialLayerFor(1080, 1)).toBe(0);
  });

  it('a window being resized sends one request with the final size, and nothing when nothing changed', () => {
    reception.attach(fakeConsumer('c1', 'video', 'L3T3'), 'ana', 'camera');
    for (let height = 150; height <= 500; height += 10) {
      reception.setDemand('ana', 'camera', { visible: true, height });
      vi.advanceTimersByTime(50);
    }
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(300);
    expect(sent).toEqual([{ consumerId: 'c1', paused: false, spatialLayer: 2, temporalLayer: 2 }]);

    reception.setDemand('ana', 'camera', { visible: true, height: 720 });
    vi.advanceTimersByTime(300);
    expect(sent).toHaveLength(1);
    expect(reception.state('c1')).toMatchObject({ preferredSpatialLayer: 2, pausedByClient: false });
  });

  it('a hidden tile pauses its video; shown again it resumes at the layer that fits', () => {
    reception.setDemand('ana', 'camera', { visible: false, height: 300 });
    vi.advanceTimersByTime(300);
    // Known before the consumer exists: sent as soon as it is set up, without waiting.
    reception.attach(fakeConsumer('c1', 'video', 'L3T3'), 'ana', 'camera');
    expect(sent).toEqual([{ consumerId: 'c1', paused: true }]);
    expect(reception.state('c1').pausedByClient).toBe(true);

    reception.setDemand('ana', 'camera', { visible: true, height: 300 });
    vi.advanceTimersByTime(300);
    expect(sent[1]).toEqual({ consumerId: 'c1', paused: false, spatialLayer: 1, temporalLayer: 2 });
  });

  it('a single-layer video is only paused and resumed; audio is never touched', () => {
    reception.attach(fakeConsumer('screen', 'video'), 'ana', 'screen');
    reception.attach(fakeConsumer('mic', 'audio'), 'ana', 'mic');
    reception.setDemand('ana', 'screen', { visible: true, height: 900 });
    reception.setDemand('ana', 'mic', { visible: false, height: 0 });
    vi.advanceTimersByTime(300);
    expect(sent).toEqual([{ consumerId: 'screen', paused: false }]);
  });

  it('reports the layers the server forwards', () => {
    reception.attach(fakeConsumer('c1', 'video', 'L3T3'), 'ana', 'camera');
    reception.onLayers({ consumerId: 'c1', spatialLayer: 1, temporalLayer: 2 });
    expect(reception.state('c1')).toEqual({ spatialLayer: 1, temporalLayer: 2, preferredSpatialLayer: null, pausedByClient: false });
    reception.onLayers({ consumerId: 'c1', spatialLayer: null, temporalLayer: null });
    expect(reception.state('c1').spatialLayer).toBeNull();
  });

  it('switched off, it asks for nothing', () => {
    const fixed = new Reception((request) => {
      sent.push(request);
      return Promise.resolve();
    }, false);
    fixed.attach(fakeConsumer('c1', 'video', 'L3T3'), 'ana', 'camera');
    fixed.setDemand('ana', 'camera', { visible: false, height: 0 });
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([]);
  });
});
