import { randomInt } from 'node:crypto';
import type { types } from 'mediasoup-client';
import { protocolMismatch } from '../../../client/src/conference/protocolVersion.js';
import { Signaling } from '../../../client/src/conference/Signaling.js';
import { ConclaveError } from '../../../shared/errors.js';
import type { ConsumerInfo, JoinResponse } from '../../../shared/protocol.js';
import { MediaLink } from './MediaLink.js';
import type { SyntheticMedia } from './media.js';
import { readRtcp, receiverReports } from './rtcp.js';
import { extensionOffset, StreamReception, TransportFeedback } from './reception.js';
import { LoopingStream, type MediaClock } from './sending.js';
import { addStream, emptyTotals, newRecord, type SyntheticPlan, type SyntheticRecord, type SyntheticSample, type SyntheticStreamStats } from './records.js';
import { RequestPacer, sharedInterval } from './intervals.js';

const TWCC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const AUDIO_LEVEL_ID = 1;
/** What the synthetic microphone says its level is: a steady -30 dBov, voice activity set. */
const AUDIO_LEVEL = Buffer.from([0x80 | 30]);

export interface SyntheticOptions {
  url: string;
  token?: string;
  /** Most videos received at once, lowest layer, as a small window shows them; the rest are paused. */
  maxVideos: number;
  media: SyntheticMedia | null;
  clock: MediaClock;
}

interface Received {
  info: ConsumerInfo;
  reception: StreamReception;
  pausedByUs: boolean;
  producerPaused: boolean;
  spatialLayer: number | null;
  layerSwitches: number;
}

/** The codecs and header extensions a synthetic participant receives: Opus and VP8, transport-wide feedback; no RTX. */
export function receiveCapabilities(router: types.RtpCapabilities): types.RtpCapabilities {
  return {
    codecs: (router.codecs ?? []).filter((codec) => ['audio/opus', 'video/vp8'].includes(codec.mimeType.toLowerCase())),
    headerExtensions: (router.headerExtensions ?? []).filter((extension) => extension.uri === TWCC_URI || extension.uri === AUDIO_LEVEL_URI),
  };
}

/**
 * A participant with no browser: a real client of the public signalling protocol and a real WebRTC
 * transport (werift's ICE, DTLS, SRTP), which publishes pre-encoded simulcast VP8 and Opus and
 * receives like a small window — every microphone, the lowest layer of up to `maxVideos` videos,
 * the rest paused — answering with receiver reports and transport-wide feedback, counting packets,
 * loss, jitter and layer switches without decoding anything.
 */
export class SyntheticParticipant {
  readonly record: SyntheticRecord;
  private readonly signaling: Signaling;
  private recvLink: MediaLink | null = null;
  private sendLink: MediaLink | null = null;
  private readonly received = new Map<string, Received>();
  private readonly bySsrc = new Map<number, StreamReception>();
  private readonly sending: LoopingStream[] = [];
  private readonly rtcpSsrc = randomInt(1, 2 ** 32 - 1);
  private readonly feedback = new TransportFeedback(this.rtcpSsrc);
  private twccId: number | null = null;
  private readonly stops: (() => void)[] = [];
  /** Counters of closed consumers, so totals never go back. */
  private readonly retired = { audio: emptyTotals(), video: emptyTotals(), layerSwitches: 0 };
  private closed = false;
  private tornDown = false;
  private joining: Promise<void> | null = null;
  /** Under the server's per-connection request limit (RATE_LIMIT_PER_SECOND 20, burst 60), joining a room of many senders. */
  private readonly pacer = new RequestPacer(15, 40);

  constructor(
    readonly plan: SyntheticPlan,
    private readonly options: SyntheticOptions,
  ) {
    this.record = newRecord(plan);
    this.signaling = new Signaling(options.url);
    this.signaling.on('newConsumer', (info) => void this.consume(info).catch((error: unknown) => this.consumerFailed(error, info.id)));
    this.signaling.on('consumerClosed', ({ consumerId }) => this.dropConsumer(consumerId));
    this.signaling.on('consumerPaused', ({ consumerId }) => this.setProducerPaused(consumerId, true));
    this.signaling.on('consumerResumed', ({ consumerId }) => this.setProducerPaused(consumerId, false));
    this.signaling.on('consumerLayers', ({ consumerId, spatialLayer }) => {
      const entry = this.received.get(consumerId);
      if (!entry) return;
      if (entry.spatialLayer !== null && spatialLayer !== null && spatialLayer !== entry.spatialLayer) entry.layerSwitches++;
      entry.spatialLayer = spatialLayer;
    });
  }

  get joined(): boolean {
    return this.record.joinMs !== null && !this.closed;
  }

  /** Joins, connects and (a sender) publishes; a failure is recorded, and what was opened is closed. */
  join(): Promise<void> {
    this.joining ??= this.runJoin();
    return this.joining;
  }

  private async runJoin(): Promise<void> {
    const began = performance.now();
    try {
      const welcome = await this.signaling.open();
      this.stillOpen();
      const mismatch = protocolMismatch(welcome.protocolVersion);
      if (mismatch) throw new Error(mismatch);
      const joined = await this.signaling.request('join', {
        roomId: this.plan.room,
        displayName: this.plan.name,
        rtpCapabilities: receiveCapabilities(welcome.routerRtpCapabilities),
        token: this.options.token,
        dataChannels: false,
      });
      this.stillOpen();
      this.record.peerId = joined.self.id;
      this.recvLink = await this.connect(joined.recvTransport, {
        onRtp: (packet, arrivalMs) => this.onRtp(packet, arrivalMs),
        onRtcp: (packet) => this.onReceiveSideRtcp(packet),
      });
      this.stillOpen();
      if (this.plan.sender) await this.publish(joined);
      this.stillOpen();
      this.stops.push(
        sharedInterval(100, () => this.sendFeedback()),
        sharedInterval(1000, () => this.sendReceiverReports()),
      );
      this.record.joinMs = performance.now() - began;
    } catch (error) {
      this.fail(error);
      await this.tearDown();
    }
  }

  /** Stops a join that close() overtook (Ctrl-C, the end of the run) at its next step. */
  private stillOpen(): void {
    if (this.closed) throw new Error('closed while joining');
  }

  private connect(info: JoinResponse['recvTransport'], handlers: Parameters<typeof MediaLink.connect>[2]): Promise<MediaLink> {
    return MediaLink.connect(
      info,
      async (dtlsParameters) => void (await this.signaling.request('connectTransport', { transportId: info.id, dtlsParameters })),
      handlers,
    );
  }

  private async publish(joined: JoinResponse): Promise<void> {
    const media = this.options.media;
    if (!media) throw new Error('a synthetic sender needs its media loaded');
    const streams = new Map<number, LoopingStream>();
    const link = await this.connect(joined.sendTransport, {
      onRtp: () => undefined,
      onRtcp: (packet) => {
        for (const event of readRtcp(packet)) if (event.type === 'keyframeRequest') streams.get(event.ssrc)?.requestKeyframe();
      },
    });
    this.sendLink = link;
    this.stillOpen();
    const cname = `synthetic-${this.rtcpSsrc}`;
    const layerSsrcs = media.layers.map(() => randomInt(1, 2 ** 32 - 1));
    const video = media.layers[0]!;
    await this.signaling.request('produce', {
      transportId: joined.sendTransport.id,
      source: 'camera',
      kind: 'video',
      rtpParameters: {
        codecs: [
          {
            mimeType: video.mimeType,
            payloadType: video.payloadType,
            clockRate: video.clockRate,
            rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
          },
        ],
        headerExtensions: [],
        encodings: layerSsrcs.map((ssrc) => ({ ssrc, scalabilityMode: 'L1T1' })),
        rtcp: { cname, reducedSize: true },
      },
    });
    const audio = media.audio;
    const audioSsrc = randomInt(1, 2 ** 32 - 1);
    await this.signaling.request('produce', {
      transportId: joined.sendTransport.id,
      source: 'mic',
      kind: 'audio',
      rtpParameters: {
        codecs: [
          { mimeType: audio.mimeType, payloadType: audio.payloadType, clockRate: audio.clockRate, channels: audio.channels, parameters: { useinbandfec: 1 } },
        ],
        headerExtensions: [{ uri: AUDIO_LEVEL_URI, id: AUDIO_LEVEL_ID }],
        encodings: [{ ssrc: audioSsrc }],
        rtcp: { cname, reducedSize: true },
      },
    });
    const now = performance.now();
    media.layers.forEach((layer, index) => streams.set(layerSsrcs[index]!, new LoopingStream(layer, layerSsrcs[index]!, layer.payloadType, link)));
    streams.set(audioSsrc, new LoopingStream(audio, audioSsrc, audio.payloadType, link, [{ id: AUDIO_LEVEL_ID, value: AUDIO_LEVEL }]));
    for (const stream of streams.values()) {
      stream.start(now);
      this.sending.push(stream);
      this.options.clock.add(stream);
    }
  }

  private async consume(info: ConsumerInfo): Promise<void> {
    if (this.tornDown) return; // a failed join's late announcements
    const ssrc = info.rtpParameters.encodings?.[0]?.ssrc;
    const clockRate = info.rtpParameters.codecs[0]?.clockRate;
    if (ssrc === undefined || clockRate === undefined) throw new Error(`consumer ${info.id} has no SSRC or codec`);
    const twcc = info.rtpParameters.headerExtensions?.find((extension) => extension.uri === TWCC_URI);
    if (twcc) this.twccId = twcc.id;
    const reception = new StreamReception(ssrc, clockRate);
    const shownVideos = [...this.received.values()].filter((entry) => entry.info.kind === 'video' && !entry.pausedByUs).length;
    const entry: Received = {
      info,
      reception,
      pausedByUs: info.kind === 'video' && shownVideos >= this.options.maxVideos,
      producerPaused: info.producerPaused,
      spatialLayer: null,
      layerSwitches: 0,
    };
    this.received.set(info.id, entry);
    this.bySsrc.set(ssrc, reception);
    if (info.kind === 'video') {
      // Before resuming, so the first keyframe asked for is already of the layer we want.
      await this.pacer.turn();
      if (this.closed) return;
      await this.signaling.request(
        'setConsumerPreferences',
        entry.pausedByUs ? { consumerId: info.id, paused: true } : { consumerId: info.id, spatialLayer: 0, temporalLayer: 2 },
      );
    }
    await this.pacer.turn();
    if (this.closed) return;
    await this.signaling.request('resumeConsumer', { consumerId: info.id });
  }

  /** A consumer closed while we asked about it (its sender left) is no failure; anything else is. */
  private consumerFailed(error: unknown, consumerId: string): void {
    if (error instanceof ConclaveError && error.code === 'NOT_FOUND' && !this.received.has(consumerId)) return;
    this.fail(error);
  }

  private dropConsumer(consumerId: string): void {
    const entry = this.received.get(consumerId);
    if (!entry) return;
    this.received.delete(consumerId);
    this.bySsrc.delete(entry.reception.ssrc);
    addStream(this.retired[entry.info.kind], entry.reception, false);
    this.retired.layerSwitches += entry.layerSwitches;
    if (entry.info.kind !== 'video' || entry.pausedByUs) return;
    // A shown video went: the next one waiting takes its place, as in a browser's grid.
    const waiting = [...this.received.values()].find((candidate) => candidate.info.kind === 'video' && candidate.pausedByUs);
    if (!waiting) return;
    waiting.pausedByUs = false;
    void this.pacer
      .turn()
      .then(() => this.signaling.request('setConsumerPreferences', { consumerId: waiting.info.id, paused: false, spatialLayer: 0, temporalLayer: 2 }))
      .catch((error: unknown) => this.consumerFailed(error, waiting.info.id));
  }

  private setProducerPaused(consumerId: string, paused: boolean): void {
    const entry = this.received.get(consumerId);
    if (entry) entry.producerPaused = paused;
  }

  private onRtp(packet: Buffer, arrivalMs: number): void {
    this.bySsrc.get(packet.readUInt32BE(8))?.onPacket(packet, arrivalMs);
    if (this.twccId === null) return;
    const at = extensionOffset(packet, this.twccId, 2);
    if (at >= 0) this.feedback.onPacket(packet.readUInt16BE(at), arrivalMs);
  }

  private onReceiveSideRtcp(packet: Buffer): void {
    const now = performance.now();
    for (const event of readRtcp(packet)) if (event.type === 'senderReport') this.bySsrc.get(event.ssrc)?.onSenderReport(event.ntpMiddle, now);
  }

  private sendFeedback(): void {
    const link = this.recvLink;
    if (!link) return;
    const mediaSsrc = this.bySsrc.keys().next().value ?? 0;
    for (const packet of this.feedback.take(mediaSsrc)) link.sendRtcp(packet);
  }

  private sendReceiverReports(): void {
    const link = this.recvLink;
    if (!link || this.bySsrc.size === 0) return;
    const now = performance.now();
    const blocks = [...this.bySsrc.values()].flatMap((reception) => reception.reportBlock(now) ?? []);
    if (blocks.length > 0) for (const packet of receiverReports(this.rtcpSsrc, blocks)) link.sendRtcp(packet);
  }

  /** Its counters now (the caller keeps the series); the per-stream detail goes into the record. */
  sample(): SyntheticSample {
    const streams = [...this.received.values()].map(({ info, reception, pausedByUs, producerPaused, spatialLayer, layerSwitches }): SyntheticStreamStats => ({
      consumerId: info.id,
      peerId: info.peerId,
      source: info.source,
      kind: info.kind,
      paused: pausedByUs || producerPaused,
      packets: reception.packets,
      bytes: reception.bytes,
      expected: reception.expected,
      lost: reception.lost,
      jitterMs: (reception.jitter / reception.clockRate) * 1000,
      frames: reception.frames,
      spatialLayer,
      layerSwitches,
    }));
    const audio = { ...this.retired.audio };
    const video = { ...this.retired.video };
    let layerSwitches = this.retired.layerSwitches;
    for (const entry of this.received.values()) {
      addStream(entry.info.kind === 'audio' ? audio : video, entry.reception, !entry.pausedByUs && !entry.producerPaused);
      layerSwitches += entry.layerSwitches;
    }
    const sent = { packets: 0, octets: 0, keyframes: 0 };
    for (const stream of this.sending) {
      sent.packets += stream.sentPackets;
      sent.octets += stream.sentOctets;
      sent.keyframes += stream.keyframesSent;
    }
    const sample: SyntheticSample = {
      t: Date.now(),
      connected: this.recvLink?.connected ?? false,
      audio,
      video,
      jitterMs: Math.max(0, ...streams.map((stream) => stream.jitterMs)),
      layerSwitches,
      sent,
    };
    this.record.streams = streams;
    return sample;
  }

  private fail(error: unknown): void {
    if (this.record.error === null && !this.closed) this.record.error = error instanceof Error ? error.message : String(error);
  }

  /** Leaves and closes everything, waiting (a while) for a join under way to stop first. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.joining) await Promise.race([this.joining, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    await this.tearDown();
  }

  private async tearDown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    for (const stop of this.stops.splice(0)) stop();
    for (const stream of this.sending) this.options.clock.remove(stream);
    if (this.record.peerId !== null) await this.signaling.request('leave', {}, { timeoutMs: 2000 }).catch(() => undefined);
    this.signaling.close();
    await Promise.all([this.recvLink?.close(), this.sendLink?.close()]);
  }
}
