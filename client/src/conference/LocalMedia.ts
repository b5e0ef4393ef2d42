import type { types } from 'mediasoup-client';
import { ConclaveError } from '../../../shared/errors.js';
import { MediaSource } from '../../../shared/protocol.js';
import type { Emit, Report } from './events.js';
import { cameraEncodings, getCameraTrack, getMicTrack, getScreenTrack, MediaAccessError, SCREEN_ENCODINGS } from './media.js';
import type { MediaTransports } from './MediaTransports.js';
import { SEND_LIMITS, type QualityMode } from './qualityMode.js';
import type { Signaling } from './Signaling.js';
import type { DeviceSource, LocalSource } from './types.js';

export interface LocalMediaContext {
  signaling: Signaling;
  transports: MediaTransports;
  /** Publishing waits for the room: tracks got before joining are published by publishAll(). */
  isJoined: () => boolean;
  emit: Emit;
  report: Report;
}

const off = (): LocalSource => ({ track: null, producer: null, enabled: false });

/**
 * What we send: the microphone, camera and screen tracks, the devices they come from, and their
 * producers. A muted microphone stays published (paused); a camera turned off releases the
 * device; a screen share is produced on start and closed on stop.
 */
export class LocalMedia {
  readonly sources: Record<MediaSource, LocalSource> = { mic: off(), camera: off(), screen: off() };
  private readonly deviceIds: Partial<Record<DeviceSource, string>>;
  private quality: QualityMode = 'auto';

  constructor(
    private readonly context: LocalMediaContext,
    deviceIds: Partial<Record<DeviceSource, string>>,
  ) {
    this.deviceIds = { ...deviceIds };
  }

  /** Asks for the wanted devices (e.g. while the connection is being set up); failures are reported, not thrown. */
  async acquire(wanted: DeviceSource[]): Promise<void> {
    await Promise.all(
      wanted.map(async (source) => {
        const track = await this.capture(source);
        if (!track) return;
        this.sources[source] = { track, producer: null, enabled: true };
        this.context.emit('localMediaChanged', source);
      }),
    );
  }

  async set(source: DeviceSource, on: boolean): Promise<void> {
    const current = this.sources[source];
    if (current.enabled === on && (on ? current.track : true)) return;
    const { producer } = current;
    if (!on) {
      current.enabled = false;
      if (producer && !producer.closed) {
        producer.pause();
        await this.setPaused(producer, true);
      }
      if (source === 'camera') {
        // Release the camera so its light goes off; the muted microphone stays ready to unmute.
        await producer?.replaceTrack({ track: null });
        current.track?.stop();
        current.track = null;
      }
      this.context.emit('localMediaChanged', source);
      return;
    }
    if (!current.track) {
      const track = await this.capture(source);
      if (!track) return;
      current.track = track;
      if (producer && !producer.closed) await producer.replaceTrack({ track });
    }
    current.enabled = true;
    this.context.emit('localMediaChanged', source);
    if (producer && !producer.closed) {
      producer.resume();
      await this.setPaused(producer, false);
    } else if (this.context.isJoined()) {
      await this.publish(source, current.track);
    }
  }

  async shareScreen(): Promise<void> {
    if (this.sources.screen.producer) return;
    const track = await this.guard('screen', () => getScreenTrack());
    if (!track) return;
    this.sources.screen = { track, producer: null, enabled: true };
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener('ended', () => void this.stopScreen());
    this.context.emit('localMediaChanged', 'screen');
    await this.publish('screen', track);
  }

  /** Stops sharing; `closedByServer`: a host or moderator stopped it and the server closed the producer already. */
  async stopScreen(closedByServer = false): Promise<void> {
    const { producer, track } = this.sources.screen;
    this.sources.screen = off();
    track?.stop();
    if (producer && !producer.closed) {
      producer.close();
      if (!closedByServer) await this.context.signaling.request('closeProducer', { producerId: producer.id }).catch(this.reportUnlessGone);
    }
    this.context.emit('localMediaChanged', 'screen');
  }

  /** The room asks newcomers to arrive muted: the microphone, if we have one, is published paused. */
  arriveMuted(): void {
    const mic = this.sources.mic;
    if (!mic.enabled) return;
    mic.enabled = false;
    this.context.emit('localMediaChanged', 'mic');
  }

  /** Switches camera or microphone without renegotiation (replaceTrack). */
  async selectDevice(source: DeviceSource, deviceId: string): Promise<void> {
    this.deviceIds[source] = deviceId;
    const current = this.sources[source];
    if (!current.enabled || !current.track) return;
    const track = await this.capture(source);
    if (!track) return;
    await current.producer?.replaceTrack({ track });
    current.track.stop();
    current.track = track;
    this.context.emit('localMediaChanged', source);
  }

  /** Publishes every track we have (muted ones paused), e.g. after joining or a media reset. */
  async publishAll(): Promise<void> {
    await Promise.all(
      MediaSource.options.map(async (source) => {
        const { track, producer, enabled } = this.sources[source];
        if (!track || (producer && !producer.closed) || !this.context.isJoined()) return;
        await this.publish(source, track, !enabled);
      }),
    );
  }

  /** The transports are gone, and our producers with them; the tracks stay for publishAll(). */
  forgetProducers(): void {
    for (const source of MediaSource.options) this.sources[source].producer = null;
  }

  /** Stops every track (the camera light goes off) and forgets it. */
  release(): void {
    for (const source of MediaSource.options) {
      this.sources[source].track?.stop();
      this.sources[source] = off();
      this.context.emit('localMediaChanged', source);
    }
  }

  /** The quality setting's limits on what we send, now and for what we publish later. */
  async setQuality(mode: QualityMode): Promise<void> {
    this.quality = mode;
    await Promise.all(this.producers().map(({ producer, source }) => this.limit(producer, source).catch(this.context.report)));
  }

  /**
   * Applies the setting to one sender (RTCRtpSender.setParameters underneath): a camera's higher
   * simulcast layers switched off or on, a screen's bitrate capped.
   */
  private async limit(producer: types.Producer, source: MediaSource): Promise<void> {
    const limits = SEND_LIMITS[this.quality];
    if (source === 'camera' && producer.rtpParameters.encodings && producer.rtpParameters.encodings.length > 1) {
      await producer.setMaxSpatialLayer(Math.min(limits.cameraTopLayer, producer.rtpParameters.encodings.length - 1));
    } else if (source === 'screen') {
      await producer.setRtpEncodingParameters({ maxBitrate: limits.screenMaxBitrate });
    }
  }

  /** The producers that are live now, by source. */
  producers(): { producer: types.Producer; source: MediaSource }[] {
    return MediaSource.options.flatMap((source) => {
      const producer = this.sources[source].producer;
      return producer && !producer.closed ? [{ producer, source }] : [];
    });
  }

  private async publish(source: MediaSource, track: MediaStreamTrack, paused = false): Promise<void> {
    const transport = this.context.transports.send;
    if (!transport) return;
    try {
      const producer = await transport.produce({
        track,
        stopTracks: false,
        appData: { source, paused },
        ...(source === 'mic' ? { codecOptions: { opusDtx: true, opusFec: true } } : {}),
        ...(source === 'camera' ? { encodings: cameraEncodings(track.getSettings()) } : source === 'screen' ? { encodings: SCREEN_ENCODINGS } : {}),
      });
      // The user may have switched the source off or stopped sharing while it was being set up.
      if (this.sources[source].track !== track) {
        producer.close();
        await this.context.signaling.request('closeProducer', { producerId: producer.id }).catch(() => undefined);
        return;
      }
      if (paused) producer.pause();
      if (this.quality !== 'auto') await this.limit(producer, source).catch(this.context.report);
      this.sources[source].producer = producer;
      this.context.emit('localMediaChanged', source);
    } catch (error) {
      this.context.report(error);
    }
  }

  private async setPaused(producer: types.Producer, paused: boolean): Promise<void> {
    await this.context.signaling.request('setProducerPaused', { producerId: producer.id, paused }).catch(this.reportUnlessGone);
  }

  /** A producer the server closed meanwhile (a media reset, a moderator) needs nothing more. */
  private readonly reportUnlessGone = (error: unknown): void => {
    if (!(error instanceof ConclaveError && error.code === 'NOT_FOUND')) this.context.report(error);
  };

  private capture(source: DeviceSource): Promise<MediaStreamTrack | undefined> {
    const deviceId = this.deviceIds[source];
    return this.guard(source, () => (source === 'mic' ? getMicTrack(deviceId) : getCameraTrack(deviceId)));
  }

  /** Runs a media acquisition; failures become mediaError events and an undefined result. */
  private async guard<T>(source: MediaSource, acquire: () => Promise<T>): Promise<T | undefined> {
    try {
      return await acquire();
    } catch (error) {
      this.context.emit('mediaError', error instanceof MediaAccessError ? error : new MediaAccessError(source, 'unknown', String(error)));
      return undefined;
    }
  }
}
