import type { Device, types } from 'mediasoup-client';
import { sourceTrack, type JoinRequest, type MediaSource, type TransportInfo } from '../../../shared/protocol.js';
import type { TransportDirection } from '../../../shared/diagnostics.js';
import { prepareDevice } from './device.js';
import type { Report } from './events.js';
import { markJoin } from './joinMarks.js';
import type { Signaling } from './Signaling.js';

/** A network change breaks ICE first; a transport still 'disconnected' after this restarts it. */
const DISCONNECTED_GRACE_MS = 2000;

export type AheadDtlsParameters = NonNullable<JoinRequest['dtlsParameters']>;

/** Our DTLS certificate, made before joining, and what the join tells the server of it (DTLS ahead). */
interface Certificate {
  certificate: RTCCertificate;
  dtlsParameters: AheadDtlsParameters;
}

const FINGERPRINT_ALGORITHMS = new Set<string>(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']);
const isAlgorithm = (algorithm: string | undefined): algorithm is AheadDtlsParameters['fingerprints'][number]['algorithm'] =>
  algorithm !== undefined && FINGERPRINT_ALGORITHMS.has(algorithm);

/**
 * A certificate whose fingerprint the page can tell, or null: then each transport connects on
 * request as before (Firefox has no `getFingerprints`; an old browser no `generateCertificate`).
 */
async function makeCertificate(): Promise<Certificate | null> {
  if (typeof RTCPeerConnection === 'undefined' || typeof RTCPeerConnection.generateCertificate !== 'function') return null;
  try {
    const keygen: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
    const certificate = await RTCPeerConnection.generateCertificate(keygen);
    if (typeof (certificate as Partial<RTCCertificate>).getFingerprints !== 'function') return null;
    const fingerprints = certificate
      .getFingerprints()
      .flatMap(({ algorithm, value }) => (isAlgorithm(algorithm) && value ? [{ algorithm, value: value.toUpperCase() }] : []));
    return fingerprints.length > 0 ? { certificate, dtlsParameters: { role: 'client', fingerprints } } : null;
  } catch {
    return null;
  }
}

/**
 * The mediasoup device, loaded once with the server's router capabilities, and the send and
 * receive transports made from it. Transports are replaced on a media reset or a rejoin; their
 * DTLS handshake, `produce` and ICE restarts go through signalling.
 */
export class MediaTransports {
  send: types.Transport | null = null;
  recv: types.Transport | null = null;
  private loaded: Device | null = null;
  private prepared: Promise<[Device, Certificate | null]> | null = null;
  private certificate: Certificate | null = null;
  private iceServers: RTCIceServer[] = [];
  private markReady: () => void = () => undefined;
  private readonly pairListeners: ((pair: [TransportDirection, types.Transport][]) => void)[] = [];
  private readonly restartListeners: ((direction: TransportDirection) => void)[] = [];
  /** Resolves once the first pair exists (consumers can be announced before the join answer). */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(
    private readonly signaling: Signaling,
    private readonly relayOnly: boolean,
    private readonly report: Report,
  ) {}

  get device(): Device | null {
    return this.loaded;
  }

  /**
   * Starts what needs no server, so that it overlaps connecting: reading the browser's media
   * capabilities (device.ts) and making our DTLS certificate. `load` waits for it.
   */
  prepare(): void {
    if (this.prepared) return;
    this.prepared = Promise.all([prepareDevice(), makeCertificate()]);
    // An unsupported browser's failure is `load`'s to report; until then it is not unhandled.
    this.prepared.catch(() => undefined);
  }

  async load(routerRtpCapabilities: types.RtpCapabilities): Promise<Device> {
    this.prepare();
    const [device, certificate] = await this.prepared!;
    await device.load({ routerRtpCapabilities });
    this.certificate = certificate;
    this.loaded = device;
    return device;
  }

  /** What a join carries so the server connects its transports at once; undefined when we cannot. */
  get aheadDtlsParameters(): AheadDtlsParameters | undefined {
    return this.certificate?.dtlsParameters;
  }

  /** Replaces both transports; without `iceServers`, the last ones given are used again. */
  set(send: TransportInfo, recv: TransportInfo, iceServers: RTCIceServer[] = this.iceServers): { send: types.Transport; recv: types.Transport } {
    const device = this.loaded;
    if (!device) throw new Error('The device is not loaded');
    this.iceServers = iceServers;
    this.close();
    const policy: RTCIceTransportPolicy = this.relayOnly ? 'relay' : 'all';
    // Always our certificate when we have one: a transport the join connected expects its fingerprint.
    const additionalSettings: Partial<RTCConfiguration> = this.certificate ? { certificates: [this.certificate.certificate] } : {};
    const options = ({ connected: _, ...info }: TransportInfo): types.TransportOptions => ({
      ...info,
      iceServers,
      iceTransportPolicy: policy,
      additionalSettings,
    });
    const sendTransport = device.createSendTransport(options(send));
    const recvTransport = device.createRecvTransport(options(recv));
    this.wire(sendTransport, 'send', send.connected === true);
    this.wire(recvTransport, 'recv', recv.connected === true);
    sendTransport.on('produce', ({ rtpParameters, appData }, callback, errback) => {
      // The kind follows from the source (a mic is audio), so the request type-checks as one pair.
      this.signaling
        .request('produce', { transportId: sendTransport.id, ...sourceTrack(appData.source as MediaSource), rtpParameters, paused: appData.paused === true })
        .then(({ producerId }) => callback({ id: producerId }), errback);
    });
    this.send = sendTransport;
    this.recv = recvTransport;
    this.markReady();
    for (const listener of this.pairListeners)
      listener([
        ['send', sendTransport],
        ['recv', recvTransport],
      ]);
    return { send: sendTransport, recv: recvTransport };
  }

  close(): void {
    this.send?.close();
    this.recv?.close();
    this.send = null;
    this.recv = null;
  }

  /** After a resume: ICE that broke while signalling was away restarts now. */
  restartBroken(): void {
    for (const transport of [this.send, this.recv]) {
      if (transport && (transport.connectionState === 'failed' || transport.connectionState === 'disconnected')) void this.restartIce(transport);
    }
  }

  /** Restarts ICE on both transports now (the connection panel's "Reconnect media"). */
  async restartAll(): Promise<void> {
    const open = [this.send, this.recv].filter((transport): transport is types.Transport => transport !== null && !transport.closed);
    await Promise.all(open.map((transport) => this.restartIce(transport)));
  }

  /** Each new pair of transports, as it is made (diagnostics watch them). */
  onPair(listener: (pair: [TransportDirection, types.Transport][]) => void): void {
    this.pairListeners.push(listener);
  }

  /** Each ICE restart this side starts, once the server has answered it. */
  onIceRestart(listener: (direction: TransportDirection) => void): void {
    this.restartListeners.push(listener);
  }

  /** The open transports, for statistics. */
  open(): { transport: types.Transport; direction: 'send' | 'recv' }[] {
    return (
      [
        ['send', this.send],
        ['recv', this.recv],
      ] as const
    ).flatMap(([direction, transport]) => (transport && !transport.closed ? [{ transport, direction }] : []));
  }

  private wire(transport: types.Transport, direction: TransportDirection, connected: boolean): void {
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      // Connected in the join (DTLS ahead): the handshake needs nothing more from the server.
      if (connected) callback();
      else this.signaling.request('connectTransport', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    // Restarting ICE is cheap and keeps all media, so it is tried before anything else.
    let disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
    transport.on('connectionstatechange', (state) => {
      clearTimeout(disconnectedTimer);
      if (state === 'connected') markJoin(direction === 'send' ? 'sendConnected' : 'recvConnected');
      if (state === 'failed') void this.restartIce(transport);
      else if (state === 'disconnected') disconnectedTimer = setTimeout(() => void this.restartIce(transport), DISCONNECTED_GRACE_MS);
    });
  }

  private async restartIce(transport: types.Transport): Promise<void> {
    try {
      const { iceParameters } = await this.signaling.request('restartIce', { transportId: transport.id });
      if (transport.closed) return;
      await transport.restartIce({ iceParameters });
      const direction = transport === this.send ? 'send' : 'recv';
      for (const listener of this.restartListeners) listener(direction);
    } catch (error) {
      this.report(error);
    }
  }
}
