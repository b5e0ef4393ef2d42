import type { types } from 'mediasoup-client';
import type { SessionEvent, TransportDirection } from '../../../shared/diagnostics.js';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import type { MediaTransports } from './MediaTransports.js';
import type { Signaling } from './Signaling.js';
import type { ConnectionState } from './types.js';

/** What this browser saw happen to its own session (the server's view arrives as SessionEvents). */
export type BrowserEvent = { at: number } & (
  | { kind: 'session'; state: ConnectionState }
  | { kind: 'signalling'; state: 'dropped'; reason: string }
  /** A transport pair was made: at the join, and again after a worker move or a rejoin. */
  | { kind: 'transports' }
  | { kind: 'connection'; transport: TransportDirection; state: string }
  | { kind: 'ice'; transport: TransportDirection; state: string }
  | { kind: 'dtls'; transport: TransportDirection; state: string }
  /** The candidate pair media flows over, as the browser selected it. */
  | { kind: 'path'; transport: TransportDirection; local: string; remote: string; protocol: string; relayProtocol: string | null }
  | { kind: 'iceRestart'; transport: TransportDirection }
  | { kind: 'mediaReset' }
);

/** An event before its time is stamped (distributes over the union). */
type Unstamped<E> = E extends unknown ? Omit<E, 'at'> : never;

export type TimelineEntry = { origin: 'browser'; event: BrowserEvent } | { origin: 'server'; event: SessionEvent };

/** One sample of the link, every SAMPLE_INTERVAL_MS: rates over the interval, totals of both transports. */
export interface LinkSample {
  at: number;
  sendKbps: number;
  recvKbps: number;
  /** Packets we received that were lost, in % of the interval's expected packets. */
  recvLossPercent: number;
  /** What the server reports losing of ours (remote-inbound-rtp), in %. */
  sendLossPercent: number;
  /** The selected candidate pair's current round trip (ms); null until measured. */
  rttMs: number | null;
  /** The browser's estimate of what it may send (availableOutgoingBitrate), kbit/s. */
  availableSendKbps: number | null;
}

export type DiagnosticsEvents = {
  entry: [entry: TimelineEntry];
  sample: [sample: LinkSample];
};

export const SAMPLE_INTERVAL_MS = 2000;
/** The statistics a bundle carries: the last minute. */
export const SAMPLES_KEPT = 30;
const ENTRIES_KEPT = 1000;

interface Totals {
  bytesSent: number;
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
}

/** The RTCStats fields read here; the DOM typings do not list all of them. */
interface StatsEntry {
  id: string;
  type: string;
  iceState?: string;
  dtlsState?: string;
  selectedCandidatePairId?: string;
  localCandidateId?: string;
  remoteCandidateId?: string;
  candidateType?: string;
  protocol?: string;
  relayProtocol?: string;
  currentRoundTripTime?: number;
  availableOutgoingBitrate?: number;
  nominated?: boolean;
  state?: string;
  bytesSent?: number;
  bytesReceived?: number;
  packetsReceived?: number;
  packetsLost?: number;
  fractionLost?: number;
}

interface Observed {
  ice?: string;
  dtls?: string;
  path?: string;
}

/**
 * The connection panel's memory, kept from the join on (a call that goes wrong is debugged after the
 * fact): a timeline of this session — the browser's own observations (session and signalling states,
 * each transport's connection, ICE and DTLS states, the candidate pair, ICE restarts) merged with
 * the server's `sessionEvent`s (worker moves, layer switches and why) — and a minute of link samples.
 * Reading statistics costs two `getStats()` per interval, whatever the size of the call.
 */
export class Diagnostics extends TypedEmitter<DiagnosticsEvents> {
  private readonly entries: TimelineEntry[] = [];
  private readonly samples: LinkSample[] = [];
  private readonly observed = new WeakMap<types.Transport, Observed>();
  private previous: { at: number; totals: Totals } | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    signaling: Signaling,
    private readonly transports: MediaTransports,
  ) {
    super();
    signaling.on('sessionEvent', (event) => this.add({ origin: 'server', event }));
    signaling.onDisconnect(({ reason }) => this.browser({ kind: 'signalling', state: 'dropped', reason }));
    signaling.on('mediaReset', () => this.browser({ kind: 'mediaReset' }));
    transports.onPair((pair) => {
      this.browser({ kind: 'transports' });
      for (const [direction, transport] of pair) this.watch(direction, transport);
    });
    transports.onIceRestart((direction) => this.browser({ kind: 'iceRestart', transport: direction }));
  }

  /** Samples the link from now until stop() (the client starts it at the join). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.sample(), SAMPLE_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  sessionState(state: ConnectionState): void {
    this.browser({ kind: 'session', state });
  }

  get timeline(): readonly TimelineEntry[] {
    return this.entries;
  }

  get recentSamples(): readonly LinkSample[] {
    return this.samples;
  }

  private browser(event: Unstamped<BrowserEvent>): void {
    this.add({ origin: 'browser', event: { ...event, at: Date.now() } });
  }

  private add(entry: TimelineEntry): void {
    this.entries.push(entry);
    if (this.entries.length > ENTRIES_KEPT) this.entries.splice(0, this.entries.length - ENTRIES_KEPT);
    this.emit('entry', entry);
  }

  private watch(direction: TransportDirection, transport: types.Transport): void {
    this.observed.set(transport, {});
    transport.on('connectionstatechange', (state) => {
      this.browser({ kind: 'connection', transport: direction, state });
      // ICE, DTLS and the path change around a connection change: read them now, not at the next sample.
      void this.readTransport(direction, transport);
    });
  }

  private async sample(): Promise<void> {
    const open = this.transports.open();
    if (open.length === 0) return;
    const totals: Totals = { bytesSent: 0, bytesReceived: 0, packetsReceived: 0, packetsLost: 0 };
    let rttMs: number | null = null;
    let availableSendKbps: number | null = null;
    const sendLoss: number[] = [];
    for (const { transport, direction } of open) {
      const report = await this.readTransport(direction, transport);
      if (!report) continue;
      for (const entry of report.values()) {
        if (entry.type === 'transport') {
          totals.bytesSent += entry.bytesSent ?? 0;
          totals.bytesReceived += entry.bytesReceived ?? 0;
        } else if (entry.type === 'inbound-rtp') {
          totals.packetsReceived += entry.packetsReceived ?? 0;
          totals.packetsLost += Math.max(0, entry.packetsLost ?? 0);
        } else if (entry.type === 'remote-inbound-rtp' && entry.fractionLost !== undefined) {
          sendLoss.push(entry.fractionLost * 100);
        }
      }
      const pair = selectedPair(report);
      if (pair?.currentRoundTripTime !== undefined) rttMs = Math.max(rttMs ?? 0, Math.round(pair.currentRoundTripTime * 1000));
      if (direction === 'send' && pair?.availableOutgoingBitrate !== undefined) availableSendKbps = Math.round(pair.availableOutgoingBitrate / 1000);
    }
    const at = Date.now();
    const previous = this.previous;
    this.previous = { at, totals };
    if (!previous || totals.bytesSent < previous.totals.bytesSent) return; // first sample, or new transports
    const seconds = Math.max(0.001, (at - previous.at) / 1000);
    const received = totals.packetsReceived - previous.totals.packetsReceived;
    const lost = Math.max(0, totals.packetsLost - previous.totals.packetsLost);
    const sample: LinkSample = {
      at,
      sendKbps: Math.max(0, Math.round(((totals.bytesSent - previous.totals.bytesSent) * 8) / seconds / 1000)),
      recvKbps: Math.max(0, Math.round(((totals.bytesReceived - previous.totals.bytesReceived) * 8) / seconds / 1000)),
      recvLossPercent: received + lost > 0 ? Math.round((lost / (received + lost)) * 1000) / 10 : 0,
      sendLossPercent: sendLoss.length > 0 ? Math.round(Math.max(...sendLoss) * 10) / 10 : 0,
      rttMs,
      availableSendKbps,
    };
    this.samples.push(sample);
    if (this.samples.length > SAMPLES_KEPT) this.samples.shift();
    this.emit('sample', sample);
  }

  /** Reads one transport's statistics and records what changed in its ICE, DTLS and path. */
  private async readTransport(direction: TransportDirection, transport: types.Transport): Promise<Map<string, StatsEntry> | null> {
    if (transport.closed) return null;
    let report: Map<string, StatsEntry>;
    try {
      report = toMap(await transport.getStats());
    } catch {
      return null; // closed meanwhile
    }
    const seen = this.observed.get(transport);
    if (!seen) return report;
    const state = [...report.values()].find((entry) => entry.type === 'transport');
    if (state?.iceState && state.iceState !== seen.ice) {
      seen.ice = state.iceState;
      this.browser({ kind: 'ice', transport: direction, state: state.iceState });
    }
    if (state?.dtlsState && state.dtlsState !== seen.dtls) {
      seen.dtls = state.dtlsState;
      this.browser({ kind: 'dtls', transport: direction, state: state.dtlsState });
    }
    const pair = selectedPair(report);
    const local = pair?.localCandidateId === undefined ? undefined : report.get(pair.localCandidateId);
    const remote = pair?.remoteCandidateId === undefined ? undefined : report.get(pair.remoteCandidateId);
    if (local?.candidateType && remote?.candidateType) {
      const path = { local: local.candidateType, remote: remote.candidateType, protocol: local.protocol ?? 'udp', relayProtocol: local.relayProtocol ?? null };
      const key = JSON.stringify(path);
      if (key !== seen.path) {
        seen.path = key;
        this.browser({ kind: 'path', transport: direction, ...path });
      }
    }
    return report;
  }
}

function toMap(report: RTCStatsReport): Map<string, StatsEntry> {
  const entries = new Map<string, StatsEntry>();
  report.forEach((entry: StatsEntry) => entries.set(entry.id, entry));
  return entries;
}

/** Chromium names the selected pair on the 'transport' entry; Firefox only flags it as nominated. */
function selectedPair(report: Map<string, StatsEntry>): StatsEntry | undefined {
  const all = [...report.values()];
  const pairId = all.find((entry) => entry.type === 'transport' && entry.selectedCandidatePairId)?.selectedCandidatePairId;
  return (
    (pairId === undefined ? undefined : report.get(pairId)) ??
    all.find((entry) => entry.type === 'candidate-pair' && entry.nominated === true && entry.state === 'succeeded')
  );
}
