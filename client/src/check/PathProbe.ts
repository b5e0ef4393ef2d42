import type { CheckLimits, CheckPath, CheckTransportInfo } from '../../../shared/check.js';
import type { CheckConnection } from './CheckConnection.js';
import type { CheckCode, SelectedPair } from './types.js';

/** Pings for the round trip; the median is reported. */
const PINGS = 5;
const PING_TIMEOUT_MS = 2000;
/** The browser's send buffer is kept between these while uploading. */
const HIGH_WATER_BYTES = 1024 * 1024;
const LOW_WATER_BYTES = 256 * 1024;
/** After the server's download ends, what is still on the way gets this long to arrive. */
const DOWNLOAD_TAIL_MS = 2000;

/** A path that did not work: a check code and the browser's or server's own words. */
export class PathFailure extends Error {
  constructor(
    readonly code: CheckCode,
    message: string,
  ) {
    super(message);
    this.name = 'PathFailure';
  }
}

/**
 * One path to the server under test, from a plain RTCPeerConnection with data channels only (no
 * media, no mediasoup-client): the server's transport offers only that path's candidates, and a
 * relay test makes the browser use TURN alone. The channels are negotiated on the SCTP streams
 * the server named, so no extra signalling is needed once DTLS is up.
 */
export class PathProbe {
  private constructor(
    private readonly connection: CheckConnection,
    private readonly pc: RTCPeerConnection,
    private readonly info: CheckTransportInfo,
    private readonly channels: { echoSend: RTCDataChannel; echoReceive: RTCDataChannel; bulkSend: RTCDataChannel; bulkReceive: RTCDataChannel },
    readonly connectMs: number,
  ) {}

  /** Opens the path; throws PathFailure when it does not connect within the server's limit (or `signal` aborts). */
  static async open(connection: CheckConnection, path: CheckPath, limits: CheckLimits, signal?: AbortSignal): Promise<PathProbe> {
    const started = performance.now();
    const info = await connection.request('openTransport', { path });
    const pc = new RTCPeerConnection({ iceServers: info.iceServers, iceTransportPolicy: path === 'relay' ? 'relay' : 'all' });
    const channel = (label: string, id: number): RTCDataChannel => {
      const created = pc.createDataChannel(label, { negotiated: true, id, ordered: true });
      created.binaryType = 'arraybuffer';
      return created;
    };
    const channels = {
      echoSend: channel('echo', info.channels.echo.send),
      echoReceive: channel('echo-back', info.channels.echo.receive),
      bulkSend: channel('bulk', info.channels.bulk.send),
      bulkReceive: channel('bulk-back', info.channels.bulk.receive),
    };
    const turnErrors: string[] = [];
    const gathered = { relay: 0 };
    pc.addEventListener('icecandidate', (event) => {
      if (event.candidate?.type === 'relay') gathered.relay++;
    });
    pc.addEventListener('icecandidateerror', (event) => {
      const error = event;
      turnErrors.push(`${error.url} ${error.errorCode} ${error.errorText}`.trim());
    });
    try {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const { mid, fingerprint } = parseOffer(offer.sdp ?? '');
      await connection.request('connectTransport', { transportId: info.transportId, dtlsParameters: { role: 'client', fingerprints: [fingerprint] } });
      await pc.setRemoteDescription({ type: 'answer', sdp: answerFor(info, mid) });
      await opened(pc, channels.echoSend, limits.connectTimeoutMs, path, turnErrors, gathered, signal);
    } catch (error) {
      pc.close();
      void connection.request('closeTransport', { transportId: info.transportId }).catch(() => undefined);
      throw error;
    }
    return new PathProbe(connection, pc, info, channels, Math.round(performance.now() - started));
  }

  /** The median round trip of a few messages echoed by the media worker, in ms. */
  async roundTrip(): Promise<number> {
    const { echoSend, echoReceive } = this.channels;
    const times: number[] = [];
    for (let seq = 0; seq < PINGS; seq++) {
      const sent = performance.now();
      const back = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new PathFailure('timeout', `no echo within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
        const onMessage = (event: MessageEvent): void => {
          if (event.data !== String(seq)) return;
          clearTimeout(timer);
          echoReceive.removeEventListener('message', onMessage);
          resolve();
        };
        echoReceive.addEventListener('message', onMessage);
      });
      echoSend.send(String(seq));
      await back;
      times.push(performance.now() - sent);
    }
    times.sort((a, b) => a - b);
    return Math.round((times[Math.floor(times.length / 2)] ?? 0) * 10) / 10;
  }

  /** The candidate pair ICE chose (host/srflx/relay, UDP/TCP). */
  async selectedPair(): Promise<SelectedPair | undefined> {
    const stats = await this.pc.getStats();
    let pairId: string | undefined;
    stats.forEach((report: { type: string; selectedCandidatePairId?: string }) => {
      if (report.type === 'transport' && report.selectedCandidatePairId) pairId = report.selectedCandidatePairId;
    });
    if (!pairId) {
      stats.forEach((report: { type: string; id: string; state?: string; nominated?: boolean }) => {
        if (report.type === 'candidate-pair' && report.state === 'succeeded' && report.nominated) pairId ??= report.id;
      });
    }
    const pair = pairId ? (stats.get(pairId) as { localCandidateId: string; remoteCandidateId: string } | undefined) : undefined;
    if (!pair) return undefined;
    type Candidate = { candidateType: string; protocol: string; relayProtocol?: string };
    const local = stats.get(pair.localCandidateId) as Candidate | undefined;
    const remote = stats.get(pair.remoteCandidateId) as Candidate | undefined;
    if (!local || !remote) return undefined;
    return {
      localType: local.candidateType,
      localProtocol: local.protocol,
      remoteType: remote.candidateType,
      remoteProtocol: remote.protocol,
      ...(local.relayProtocol ? { relayProtocol: local.relayProtocol } : {}),
    };
  }

  /** Pushes on the bulk channel while the server counts; bits per second as the server received them. */
  async upload(limits: CheckLimits): Promise<number> {
    const { bulkSend } = this.channels;
    bulkSend.bufferedAmountLowThreshold = LOW_WATER_BYTES;
    let done = false;
    const counted = this.connection.request('upload', { transportId: this.info.transportId }, limits.bandwidthMs + 10_000).finally(() => (done = true));
    const chunk = new ArrayBuffer(limits.chunkBytes);
    let sent = 0;
    while (!done && sent < limits.bandwidthBytes && bulkSend.readyState === 'open') {
      if (bulkSend.bufferedAmount < HIGH_WATER_BYTES) {
        bulkSend.send(chunk);
        sent += chunk.byteLength;
      } else {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          bulkSend.addEventListener('bufferedamountlow', () => (clearTimeout(timer), resolve()), { once: true });
        });
      }
    }
    const { bytes, ms } = await counted;
    return ms > 0 ? Math.round((bytes * 8 * 1000) / ms) : 0;
  }

  /** Has the server push on the bulk channel; bits per second as they arrived here. */
  async download(limits: CheckLimits): Promise<number> {
    const { bulkReceive } = this.channels;
    let received = 0;
    let lastAt = 0;
    const onMessage = (event: MessageEvent<ArrayBuffer>): void => {
      received += event.data.byteLength;
      lastAt = performance.now();
    };
    bulkReceive.addEventListener('message', onMessage);
    const started = performance.now();
    try {
      const { bytes } = await this.connection.request('download', { transportId: this.info.transportId }, limits.bandwidthMs + 10_000);
      const deadline = performance.now() + DOWNLOAD_TAIL_MS;
      while (received < bytes && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      bulkReceive.removeEventListener('message', onMessage);
    }
    const ms = lastAt - started;
    return received > 0 && ms > 0 ? Math.round((received * 8 * 1000) / ms) : 0;
  }

  close(): void {
    this.pc.close();
    void this.connection.request('closeTransport', { transportId: this.info.transportId }).catch(() => undefined);
  }
}

function parseOffer(sdp: string): { mid: string; fingerprint: { algorithm: 'sha-256'; value: string } } {
  const mid = /^a=mid:(\S+)/m.exec(sdp)?.[1];
  const value = /^a=fingerprint:sha-256 (\S+)/m.exec(sdp)?.[1];
  if (mid === undefined || value === undefined) throw new PathFailure('error', 'the browser made an offer without a data section or a SHA-256 fingerprint');
  return { mid, fingerprint: { algorithm: 'sha-256', value } };
}

/** The server's side as SDP: ICE-lite, DTLS server, the transport's candidates and SCTP port. */
function answerFor(info: CheckTransportInfo, mid: string): string {
  const fingerprint = info.dtlsParameters.fingerprints.find((candidate) => candidate.algorithm === 'sha-256') ?? info.dtlsParameters.fingerprints[0];
  if (!fingerprint) throw new PathFailure('error', 'the server sent no DTLS fingerprint');
  const lines = [
    'v=0',
    'o=- 1 1 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${mid}`,
    'a=msid-semantic: WMS *',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    `a=mid:${mid}`,
    `a=ice-ufrag:${info.iceParameters.usernameFragment}`,
    `a=ice-pwd:${info.iceParameters.password}`,
    `a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`,
    'a=setup:passive',
    `a=sctp-port:${info.sctpParameters.port}`,
    `a=max-message-size:${info.sctpParameters.maxMessageSize}`,
    ...info.iceCandidates.map(
      (candidate) =>
        `a=candidate:${candidate.foundation} 1 ${candidate.protocol} ${candidate.priority} ${candidate.address} ${candidate.port} typ ${candidate.type}` +
        (candidate.tcpType ? ` tcptype ${candidate.tcpType}` : ''),
    ),
    'a=end-of-candidates',
  ];
  return `${lines.join('\r\n')}\r\n`;
}

/** Resolves when the channel opens (ICE, DTLS and SCTP are up); a PathFailure when it cannot or takes too long. */
function opened(
  pc: RTCPeerConnection,
  channel: RTCDataChannel,
  timeoutMs: number,
  path: CheckPath,
  turnErrors: string[],
  gathered: { relay: number },
  signal?: AbortSignal,
): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve();
  if (signal?.aborted) return Promise.reject(new PathFailure('error', 'the check was stopped'));
  return new Promise((resolve, reject) => {
    const finish = (error?: PathFailure): void => {
      clearTimeout(timer);
      channel.removeEventListener('open', onOpen);
      pc.removeEventListener('connectionstatechange', onState);
      pc.removeEventListener('icegatheringstatechange', onGathered);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const failure = (code: CheckCode, what: string): PathFailure =>
      new PathFailure(turnErrors.length > 0 && path === 'relay' ? 'refused' : code, [what, ...turnErrors].join('; '));
    const onOpen = (): void => finish();
    const onState = (): void => {
      if (pc.connectionState === 'failed') finish(failure('failed', 'ICE or DTLS failed'));
    };
    // Relay only: with no relay candidate at all, nothing can connect; no need to wait for the timeout.
    const onGathered = (): void => {
      if (path === 'relay' && pc.iceGatheringState === 'complete' && gathered.relay === 0) finish(failure('refused', 'the TURN server gave no relay address'));
    };
    const onAbort = (): void => finish(new PathFailure('error', 'the check was stopped'));
    const timer = setTimeout(() => finish(failure('timeout', `not connected within ${timeoutMs / 1000} s`)), timeoutMs);
    channel.addEventListener('open', onOpen);
    pc.addEventListener('connectionstatechange', onState);
    pc.addEventListener('icegatheringstatechange', onGathered);
    signal?.addEventListener('abort', onAbort);
    onGathered();
  });
}
