import type { types } from 'mediasoup-client';
import type { MediaSource } from '../../../shared/protocol.js';
import type { SendLimitation } from './LinkQuality.js';
import type { ReceptionState } from './reception.js';
import type { ConferenceStats, ConsumerStats, ProducerStats, TransportStats } from './types.js';

/** The RTCStats fields we read; the DOM typings do not list all of them. */
interface RtpStreamStats {
  type: string;
  kind?: string;
  bytesReceived?: number;
  bytesSent?: number;
  packetsReceived?: number;
  packetsSent?: number;
  packetsLost?: number;
  jitter?: number;
  framesDecoded?: number;
  framesEncoded?: number;
  framesPerSecond?: number;
  frameWidth?: number;
  frameHeight?: number;
  totalAudioEnergy?: number;
  totalSamplesReceived?: number;
  qualityLimitationReason?: string;
}

/** The most telling reason any layer of a sender is held back (bandwidth before CPU). */
function limitationOf(streams: RtpStreamStats[]): SendLimitation {
  const reasons = new Set(streams.map((stream) => stream.qualityLimitationReason));
  if (reasons.has('bandwidth')) return 'bandwidth';
  if (reasons.has('cpu')) return 'cpu';
  if (reasons.has('other')) return 'other';
  return 'none';
}

function rtpStreams(report: RTCStatsReport, type: 'inbound-rtp' | 'outbound-rtp'): RtpStreamStats[] {
  const streams: RtpStreamStats[] = [];
  report.forEach((entry: RtpStreamStats) => {
    if (entry.type === type) streams.push(entry);
  });
  return streams;
}

/** The ICE entries of an RTCStatsReport: transport, candidate pairs and candidates. */
interface IceStats {
  type: string;
  id: string;
  selectedCandidatePairId?: string;
  state?: string;
  nominated?: boolean;
  localCandidateId?: string;
  remoteCandidateId?: string;
  candidateType?: string;
  protocol?: string;
  relayProtocol?: string;
}

/** The candidate pair media flows over, seen from the browser. */
function selectedPath(report: RTCStatsReport): Omit<TransportStats, 'direction' | 'state'> {
  const entries = new Map<string, IceStats>();
  report.forEach((entry: IceStats) => entries.set(entry.id, entry));
  const all = [...entries.values()];
  // Chromium names the pair on the 'transport' entry; other browsers only flag it as nominated.
  const pairId = all.find((entry) => entry.type === 'transport' && entry.selectedCandidatePairId)?.selectedCandidatePairId;
  const pair =
    (pairId === undefined ? undefined : entries.get(pairId)) ??
    all.find((entry) => entry.type === 'candidate-pair' && entry.nominated === true && entry.state === 'succeeded');
  const local = pair?.localCandidateId === undefined ? undefined : entries.get(pair.localCandidateId);
  const remote = pair?.remoteCandidateId === undefined ? undefined : entries.get(pair.remoteCandidateId);
  return {
    localCandidateType: local?.candidateType ?? null,
    remoteCandidateType: remote?.candidateType ?? null,
    protocol: local?.protocol ?? null,
    relayProtocol: local?.relayProtocol ?? null,
  };
}

const sum = (streams: RtpStreamStats[], pick: (stream: RtpStreamStats) => number | undefined): number =>
  streams.reduce((total, stream) => total + (pick(stream) ?? 0), 0);

export async function collectStats(
  consumers: { consumer: types.Consumer; peerId: string; source: MediaSource; reception: ReceptionState }[],
  producers: { producer: types.Producer; source: MediaSource }[],
  transports: { transport: types.Transport; direction: TransportStats['direction'] }[],
): Promise<ConferenceStats> {
  const [consumerStats, producerStats, transportStats] = await Promise.all([
    Promise.all(
      consumers.map(async ({ consumer, peerId, source, reception }): Promise<ConsumerStats> => {
        const inbound = rtpStreams(await consumer.getStats(), 'inbound-rtp')[0] ?? { type: 'inbound-rtp' };
        return {
          consumerId: consumer.id,
          peerId,
          source,
          kind: consumer.kind,
          paused: consumer.paused,
          bytesReceived: inbound.bytesReceived ?? 0,
          packetsReceived: inbound.packetsReceived ?? 0,
          packetsLost: inbound.packetsLost ?? 0,
          jitter: inbound.jitter ?? 0,
          ...reception,
          ...(consumer.kind === 'video'
            ? {
                framesDecoded: inbound.framesDecoded ?? 0,
                framesPerSecond: inbound.framesPerSecond ?? 0,
                frameWidth: inbound.frameWidth ?? 0,
                frameHeight: inbound.frameHeight ?? 0,
              }
            : { totalAudioEnergy: inbound.totalAudioEnergy ?? 0, totalSamplesReceived: inbound.totalSamplesReceived ?? 0 }),
        };
      }),
    ),
    Promise.all(
      producers.map(async ({ producer, source }): Promise<ProducerStats> => {
        // Simulcast reports one outbound stream per layer: add them up, show the largest layer's size.
        const outbound = rtpStreams(await producer.getStats(), 'outbound-rtp');
        const largest = outbound.reduce<RtpStreamStats | undefined>(
          (best, stream) => ((stream.frameWidth ?? 0) > (best?.frameWidth ?? -1) ? stream : best),
          undefined,
        );
        return {
          producerId: producer.id,
          source,
          kind: producer.kind,
          paused: producer.paused,
          bytesSent: sum(outbound, (stream) => stream.bytesSent),
          packetsSent: sum(outbound, (stream) => stream.packetsSent),
          ...(producer.kind === 'video'
            ? {
                framesEncoded: sum(outbound, (stream) => stream.framesEncoded),
                framesPerSecond: largest?.framesPerSecond ?? 0,
                frameWidth: largest?.frameWidth ?? 0,
                frameHeight: largest?.frameHeight ?? 0,
                limitation: limitationOf(outbound),
              }
            : {}),
        };
      }),
    ),
    Promise.all(
      transports.map(async ({ transport, direction }): Promise<TransportStats> => ({
        direction,
        state: transport.connectionState,
        ...selectedPath(await transport.getStats()),
      })),
    ),
  ]);
  return { timestamp: Date.now(), consumers: consumerStats, producers: producerStats, transports: transportStats };
}
