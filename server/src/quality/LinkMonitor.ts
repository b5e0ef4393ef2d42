import type { types } from 'mediasoup';
import { rateLink, type ConnectionQuality, type LinkReport } from '../../../shared/quality.js';
import type { Logger } from '../logger.js';
import type { Peer, ProducerAppData } from '../rooms/Peer.js';
import type { Room } from '../rooms/Room.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { DownlinkPolicy, type VideoWant } from './DownlinkPolicy.js';

export interface LinkMonitorOptions {
  /** How often every link is measured. */
  intervalMs: number;
  /** Cap what each participant receives to what its downlink carries (DownlinkPolicy); off: measure only. */
  adaptDownlinks: boolean;
  /** The receiving transports' `initialAvailableOutgoingBitrate`: the lowest maximum mediasoup's estimator has. */
  initialOutgoingBps: number;
}

/**
 * mediasoup's estimator never reports more than this factor times what the transport's video
 * consumers desire (each its producer's highest stream bitrate or its own maxBitrate, whichever is
 * more; `MaxBitrateIncrementFactor` in TransportCongestionControlClient.cpp), nor less than the
 * initial estimate.
 */
const ESTIMATOR_MAX_FACTOR = 1.35;
/** What an Opus stream costs on the wire with headers and RTCP, for the downlink's budget, until it is measured. */
const AUDIO_BPS = 64_000;
/**
 * Experiments a bench may turn on in its own process. `downlinkCeiling`: the transport ceiling of
 * DownlinkPolicy (docs/quality.md, point 5). Off: over eight variants on a 500 kbit/s lab link (a
 * loaded machine) the lowest layer arrived at 9–16.5 fps against 10–13 without, at best 15–16.5 fps
 * with 1–3 layer switches in 20 s, but recovery after the cap slowed (12–26 s or not within 30 s)
 * and clean participants' links were held too (their round trips passed 100 ms). Measure on an
 * idle machine with `npm run bench:adapt -- --ceiling` before turning it on.
 */
export const experiments = { downlinkCeiling: false, downlinkTrials: true };

/** A round trip (ms) or a share of packets lost on the downlink that shows a queue on the way: the ceiling's trigger. */
const QUEUE_RTT_MS = 100;
const QUEUE_LOSS = 0.02;
/**
 * What a measured voice costs beyond its RTP bitrate (what mediasoup counts): IP, UDP and the SRTP
 * tag of 50 packets a second, and its RTCP.
 */
const AUDIO_OVERHEAD_BPS = 20_000;

/** A producer's streams as measured this round: bits per second by encoding index. */
interface ProducerSample {
  producer: types.Producer<ProducerAppData>;
  /** Bits per second of each encoding; 0 for an encoding that sends nothing. */
  encodingBps: number[];
  roundTripMs: number | null;
}

/** A bitrate limit as last set on a transport, and which transport (a new one starts with none). */
interface TransportLimit {
  transport: types.WebRtcTransport;
  bps: number;
}

/** What the monitor keeps per participant between rounds. */
interface PeerLink {
  policy: DownlinkPolicy;
  /** The receiving transport's maximum outgoing bitrate as last set (0: none). */
  ceiling: TransportLimit | undefined;
  /** Its minimum outgoing bitrate as last set (0: none). */
  floor: TransportLimit | undefined;
  /** The last report sent to it, to send only changes. */
  lastReport: string | undefined;
}

/**
 * Every few seconds, per room: reads each participant's links as mediasoup measures them (the
 * downlink's bandwidth estimate and loss from transport-wide congestion control, the uplink's loss,
 * round trips from RTCP), fits what it receives to
 * its downlink (DownlinkPolicy), tells it how its link is (`linkReport`) and tells everyone its level
 * when that changes (`connectionQuality`).
 */
export class LinkMonitor {
  private readonly links = new Map<Peer, PeerLink>();
  private readonly levels = new Map<string, ConnectionQuality>();
  private readonly timer: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly room: Room,
    private readonly options: LinkMonitorOptions,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.measure(), options.intervalMs);
    this.timer.unref();
    room.on('joined', (peer) => {
      if (this.levels.size > 0) {
        peer.notify('connectionQuality', { qualities: [...this.levels].map(([peerId, quality]) => ({ peerId, quality })) });
      }
    });
    room.on('left', (peer) => {
      this.links.delete(peer);
      this.levels.delete(peer.id);
    });
    room.on('closed', () => clearInterval(this.timer));
  }

  /** One round; a round still running (a slow worker) makes the next one skip. */
  private async measure(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const producers = await this.sampleProducers();
      const changed: { peerId: string; quality: ConnectionQuality }[] = [];
      await Promise.all(
        [...this.room.peers.values()].map(async (peer) => {
          const quality = await this.measurePeer(peer, producers).catch((error: unknown) => {
            // Transports close under a round when someone leaves or a worker dies: next round.
            this.log.debug({ err: error, peer: peer.id }, 'link measurement skipped');
            return undefined;
          });
          if (quality === undefined || peer.isClosed || this.levels.get(peer.id) === quality) return;
          this.levels.set(peer.id, quality);
          peer.session.record({ kind: 'quality', quality });
          changed.push({ peerId: peer.id, quality });
        }),
      );
      if (changed.length > 0) this.room.broadcast('connectionQuality', { qualities: changed });
    } finally {
      this.running = false;
    }
  }

  private async sampleProducers(): Promise<Map<string, ProducerSample>> {
    const samples = new Map<string, ProducerSample>();
    const producers = [...this.room.peers.values()].flatMap((peer) => [...peer.producers.values()]);
    await Promise.all(
      producers.map(async (producer) => {
        const stats = await producer.getStats().catch(() => undefined);
        if (!stats || producer.closed) return;
        const encodings = producer.rtpParameters.encodings ?? [];
        const encodingBps = encodings.map((encoding) => {
          const stream = stats.find((stat) => (encoding.rid !== undefined ? stat.rid === encoding.rid : stat.ssrc === encoding.ssrc));
          return stream?.bitrate ?? 0;
        });
        const trips = stats.map((stat) => stat.roundTripTime).filter((rtt): rtt is number => rtt !== undefined && rtt > 0);
        samples.set(producer.id, { producer, encodingBps, roundTripMs: trips.length > 0 ? Math.max(...trips) : null });
      }),
    );
    return samples;
  }

  private async measurePeer(peer: Peer, producers: ReadonlyMap<string, ProducerSample>): Promise<ConnectionQuality | undefined> {
    let link = this.links.get(peer);
    if (!link) {
      link = {
        policy: new DownlinkPolicy({ ceiling: experiments.downlinkCeiling, trials: experiments.downlinkTrials }),
        ceiling: undefined,
        floor: undefined,
        lastReport: undefined,
      };
      this.links.set(peer, link);
    }
    const [recvStats, sendStats] = await Promise.all([peer.recvTransport.getStats(), peer.sendTransport.getStats()]);
    const consumers = [...peer.consumers.values()].filter((consumer) => !consumer.closed);
    const rttConsumer = consumers.find((consumer) => !consumer.paused && !consumer.producerPaused);
    const rttStats = rttConsumer ? await rttConsumer.getStats().catch(() => []) : [];
    if (peer.isClosed) return undefined;

    const availableBps = recvStats[0]?.availableOutgoingBitrate;
    // A queue on the way to the participant: what its own receiver reports say of the media we send it.
    const downlinkRtt = Math.max(0, ...rttStats.map((stat) => stat.roundTripTime ?? 0));
    const queued = downlinkRtt >= QUEUE_RTT_MS || (recvStats[0]?.rtpPacketLossSent ?? 0) >= QUEUE_LOSS;
    const downlinkLimited = await this.fitDownlink(peer, link, consumers, producers, availableBps, queued, downlinkRtt);

    const own = [...peer.producers.values()].map((producer) => producers.get(producer.id)).filter((sample) => sample !== undefined);
    const trips = [...rttStats.map((stat) => stat.roundTripTime), ...own.map((sample) => sample.roundTripMs)].filter(
      (rtt): rtt is number => typeof rtt === 'number' && rtt > 0,
    );
    const percent = (ratio: number | undefined): number | null => (ratio === undefined ? null : Math.round(ratio * 1000) / 10);
    const measured: Omit<LinkReport, 'quality'> = {
      uplink: { lossPercent: percent(sendStats[0]?.rtpPacketLossReceived) },
      downlink: {
        lossPercent: percent(recvStats[0]?.rtpPacketLossSent),
        limited: downlinkLimited,
        availableKbps: availableBps ? Math.round(availableBps / 1000) : null,
      },
      rttMs: trips.length > 0 ? Math.round(Math.max(...trips)) : null,
    };
    const report: LinkReport = { quality: rateLink(measured), ...measured };
    const serialized = JSON.stringify(report);
    if (serialized !== link.lastReport) {
      link.lastReport = serialized;
      peer.notify('linkReport', report);
    }
    return report.quality;
  }

  /**
   * Caps the participant's camera consumers to what its downlink carries; returns whether any is
   * held below what its tile asks for.
   */
  private async fitDownlink(
    peer: Peer,
    link: PeerLink,
    consumers: types.Consumer[],
    producers: ReadonlyMap<string, ProducerSample>,
    availableBps: number | undefined,
    queued: boolean,
    downlinkRttMs: number,
  ): Promise<boolean> {
    const preferences = peer.session.preferences;
    if (!availableBps) return false;
    let reservedBps = 0;
    let desiredBps = 0;
    const wants: VideoWant[] = [];
    const byId = new Map<string, types.Consumer>();
    for (const consumer of consumers) {
      if (consumer.paused || consumer.producerPaused) continue;
      const sample = producers.get(consumer.producerId);
      /** Its producer's highest stream bitrate this round. */
      const measured = sample ? Math.max(...sample.encodingBps, 0) : 0;
      if (consumer.kind === 'video') desiredBps += Math.max(measured, consumer.rtpParameters.encodings?.[0]?.maxBitrate ?? 0);
      if (consumer.kind === 'audio') {
        // Opus runs well below the 64 kbit/s assumed for a voice not measured yet.
        reservedBps += measured > 0 ? Math.min(AUDIO_BPS, measured + AUDIO_OVERHEAD_BPS) : AUDIO_BPS;
      } else if (consumer.type !== 'simulcast' || !sample) reservedBps += measured;
      else {
        // A layer not measured yet (just starting) costs what its sender is allowed to send.
        const layerCosts = sample.encodingBps.map((bps, index) => (bps > 0 ? bps : (sample.producer.rtpParameters.encodings?.[index]?.maxBitrate ?? Infinity)));
        wants.push({ consumerId: consumer.id, layerCosts, wished: preferences.wishedSpatialLayer(consumer) });
        byId.set(consumer.id, consumer);
      }
    }
    const estimatorMaxBps = Math.max(this.options.initialOutgoingBps, desiredBps * ESTIMATOR_MAX_FACTOR);
    const caps = link.policy.decide(Date.now(), availableBps, reservedBps, this.options.adaptDownlinks ? wants : [], queued, estimatorMaxBps);
    let limited = false;
    await Promise.all([
      ...[...caps].map(async ([consumerId, cap]) => {
        const consumer = byId.get(consumerId)!;
        if (cap !== undefined && cap < preferences.wishedSpatialLayer(consumer)) limited = true;
        if (preferences.setLinkCap(consumer, cap)) await preferences.applyLayers(consumer, 'link').catch(() => undefined);
      }),
      this.applyCeiling(peer, link),
      this.applyTrialFloor(peer, link),
    ]);
    this.log.debug(
      {
        peer: peer.id,
        queued,
        rttMs: Math.round(downlinkRttMs),
        availableKbps: Math.round(availableBps / 1000),
        reservedKbps: Math.round(reservedBps / 1000),
        caps: [...caps.values()],
        layerKbps: wants.map((want) => want.layerCosts.map((bps) => Math.round(bps / 1000))),
        ceilingKbps: Math.round((link.policy.ceilingBps ?? 0) / 1000),
        trialKbps: Math.round((link.policy.trialFloorBps ?? 0) / 1000),
        estimatorMaxKbps: Math.round(estimatorMaxBps / 1000),
      },
      'downlink decision',
    );
    return limited;
  }

  /** Gives the receiving transport the policy's trial floor (0 removes it), when it changed or the transport is new. */
  private async applyTrialFloor(peer: Peer, link: PeerLink): Promise<void> {
    const bps = Math.round(link.policy.trialFloorBps ?? 0);
    link.floor = await this.applyLimit(peer, link.floor, bps, 'floor', (transport) => transport.setMinOutgoingBitrate(bps));
  }

  /** Gives the receiving transport the policy's ceiling (0 lifts it), when it changed or the transport is new. */
  private async applyCeiling(peer: Peer, link: PeerLink): Promise<void> {
    const bps = Math.round(link.policy.ceilingBps ?? 0);
    const last = link.ceiling;
    // Each change restarts mediasoup's estimator from its current estimate: a small one is not worth it.
    if (last?.transport === peer.recvTransport && bps > 0 && last.bps > 0 && Math.abs(bps / last.bps - 1) < 0.1) return;
    link.ceiling = await this.applyLimit(peer, last, bps, 'ceiling', (transport) => transport.setMaxOutgoingBitrate(bps));
  }

  /**
   * Sets a limit on the receiving transport unless it already has it (a new transport starts with
   * none); answers what it has now.
   */
  private async applyLimit(
    peer: Peer,
    last: TransportLimit | undefined,
    bps: number,
    what: 'floor' | 'ceiling',
    set: (transport: types.WebRtcTransport) => Promise<void>,
  ): Promise<TransportLimit | undefined> {
    const transport = peer.recvTransport;
    if (last?.transport === transport ? last.bps === bps : bps === 0) return bps === 0 ? { transport, bps } : last;
    try {
      await set(transport);
      this.log.debug({ peer: peer.id, kbps: bps / 1000 }, `downlink ${what}`);
      return { transport, bps };
    } catch (error) {
      // The transport closed under the round (the next one sees its successor), or a ceiling is below the floor.
      this.log.debug({ err: error, peer: peer.id }, `downlink ${what} not set`);
      return last;
    }
  }
}

/** Every room gets a link monitor from the moment it is created. */
export function monitorLinks(rooms: RoomRegistry, options: LinkMonitorOptions, log: Logger): void {
  rooms.on('created', (room) => new LinkMonitor(room, options, log.child({ room: room.id, links: true })));
}
