import {
  IceCandidate,
  RTCDtlsFingerprint,
  RTCDtlsParameters,
  RTCDtlsTransport,
  RTCIceGatherer,
  RTCIceParameters,
  RTCIceTransport,
  RtpHeader,
  type RTCCertificate,
} from 'werift';
import type dgram from 'node:dgram';
import type { types } from 'mediasoup-client';
import type { TransportInfo } from '../../../shared/protocol.js';

/** SRTP profiles offered, best first (RFC 7714 AES-GCM, then the mandatory AES-CM + HMAC-SHA1-80). */
const SRTP_PROFILES: (1 | 7)[] = [7, 1];

/** One DTLS certificate for every synthetic participant of this process: generating one costs ~10 ms of CPU each. */
let certificate: Promise<RTCCertificate> | undefined;
const sharedCertificate = (): Promise<RTCCertificate> => (certificate ??= RTCDtlsTransport.SetupCertificate());

/** Our certificate as the DTLS client, before any transport exists: what a join can carry (DTLS ahead). */
export async function localDtlsParameters(): Promise<{ role: 'client'; fingerprints: types.DtlsFingerprint[] }> {
  const fingerprints = (await sharedCertificate()).getFingerprints().map(({ algorithm, value }) => ({ algorithm, value }) as types.DtlsFingerprint);
  return { role: 'client', fingerprints };
}

/** An outgoing RTP packet's header fields. */
export interface OutgoingRtp {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
  /** One-byte header extensions (RFC 8285). */
  extensions?: { id: number; payload: Buffer }[];
}

/** What arrives: RTP is handed over still encrypted (its header is clear in SRTP, and nothing here decodes); RTCP decrypted. */
export interface LinkHandlers {
  onRtp: (packet: Buffer, arrivalMs: number) => void;
  onRtcp: (packet: Buffer) => void;
}

/**
 * A WebRTC transport to one of the server's mediasoup WebRtcTransports, built from werift's ICE,
 * DTLS and SRTP (the same stack a browser runs: ICE checks and consent, a DTLS handshake with
 * fingerprint checks, SRTP keys from it) but without a PeerConnection: the server's parameters are
 * applied directly, ORTC style, as mediasoup-client does in a browser through SDP.
 */
export class MediaLink {
  private constructor(
    private readonly ice: RTCIceTransport,
    private readonly dtls: RTCDtlsTransport,
  ) {}

  /**
   * Connects to `info`: ICE first, then `connectTransport` with our fingerprint (the server needs it
   * before the handshake), then DTLS as the client. Resolves once SRTP is keyed.
   */
  static async connect(
    info: TransportInfo,
    connectTransport: (dtlsParameters: types.DtlsParameters) => Promise<void>,
    handlers: LinkHandlers,
  ): Promise<MediaLink> {
    const gatherer = new RTCIceGatherer({ useIpv4: true, useIpv6: false, useTcp: false });
    // Host candidates only: werift would otherwise ask a public STUN server (its default) on every
    // connect, and wait up to 5 s for it where UDP to the internet is filtered.
    gatherer.connection.stunServer = undefined;
    const ice = new RTCIceTransport(gatherer);
    const dtls = new RTCDtlsTransport({}, ice, await sharedCertificate(), SRTP_PROFILES);
    try {
      await gatherer.gather();
      ice.setRemoteParams(
        new RTCIceParameters({ usernameFragment: info.iceParameters.usernameFragment, password: info.iceParameters.password, iceLite: true }),
      );
      for (const candidate of info.iceCandidates) {
        if (candidate.protocol !== 'udp') continue;
        await ice.addRemoteCandidate(new IceCandidate(1, candidate.foundation, candidate.address, candidate.port, candidate.priority, 'udp', candidate.type));
      }
      await ice.addRemoteCandidate(undefined);
      dtls.setRemoteParams(
        new RTCDtlsParameters(
          info.dtlsParameters.fingerprints.map(({ algorithm, value }) => new RTCDtlsFingerprint(algorithm, value)),
          'server',
        ),
      );
      const fingerprints = dtls.localParameters.fingerprints.map(({ algorithm, value }) => ({ algorithm, value }) as types.DtlsFingerprint);
      // mediasoup is ICE-lite: we are the controlling agent.
      ice.connection.iceControlling = true;
      await Promise.all([connectTransport({ role: 'client', fingerprints }), ice.start()]);
      // SRTP is ours to run: werift would decrypt and parse every RTP packet, which a receiver that
      // only counts does not need (RFC 3711 leaves the header, extensions included, in the clear).
      dtls.srtpStarted = true;
      dtls.role = 'client';
      await dtls.start();
      dtls.updateSrtpSession();
    } catch (error) {
      await dtls.stop().catch(() => undefined);
      await ice.stop().catch(() => undefined);
      throw error;
    }
    const link = new MediaLink(ice, dtls);
    const receive = (data: Buffer): void => {
      const type = data[1]! & 0x7f;
      if (type >= 64 && type <= 95) {
        let plain: Buffer;
        try {
          plain = dtls.srtcp.decrypt(data);
        } catch {
          return; // fails authentication: not from our peer
        }
        handlers.onRtcp(plain);
      } else {
        handlers.onRtp(data, performance.now());
      }
    };
    const direct = selectedSocket(ice);
    if (direct) {
      // Media straight from the socket: werift's path parses every datagram as STUN first and
      // dispatches it through promise-making events, several times the cost of the packet itself.
      // STUN (consent) and DTLS still go to werift.
      const { socket, address, port } = direct;
      socket.setRecvBufferSize(2 ** 20);
      // A connected UDP socket reports the server's ICMP "port unreachable" (it stopped) as an
      // 'error' event, which with no listener would end the whole thread.
      socket.on('error', () => undefined);
      const werift = socket.listeners('message') as ((data: Buffer, remote: dgram.RemoteInfo) => void)[];
      socket.removeAllListeners('message');
      socket.on('message', (data: Buffer, remote: dgram.RemoteInfo) => {
        if (isMedia(data)) receive(data);
        else for (const listener of werift) listener(data, remote);
      });
      // Connected to the server's address: a send needs no address lookup (one tick and a callback
      // per packet otherwise). werift's own sends (consent checks) go the same way.
      await new Promise<void>((resolve, reject) => socket.connect(port, address, (error?: Error) => (error ? reject(error) : resolve())));
      direct.transport.send = (data: Buffer, to?: [string, number]) => {
        if (!to || (to[0] === address && to[1] === port)) socket.send(data);
        return Promise.resolve();
      };
      link.transmit = (packet) => {
        try {
          socket.send(packet);
        } catch {
          // closed underneath us (the link is closing): nothing to send on
        }
      };
    } else {
      ice.connection.onData.subscribe((data: Buffer) => isMedia(data) && receive(data));
    }
    return link;
  }

  /** Sends one protected packet on the selected path. */
  private transmit = (packet: Buffer): void => void this.ice.connection.send(packet).catch(() => undefined);

  get connected(): boolean {
    return this.dtls.state === 'connected' && (this.ice.state === 'connected' || this.ice.state === 'completed');
  }

  sendRtp(rtp: OutgoingRtp, payload: Buffer): void {
    const header = new RtpHeader({
      payloadType: rtp.payloadType,
      sequenceNumber: rtp.sequenceNumber,
      timestamp: rtp.timestamp,
      ssrc: rtp.ssrc,
      marker: rtp.marker,
      extension: (rtp.extensions?.length ?? 0) > 0,
      extensions: rtp.extensions ?? [],
    });
    this.transmit(this.dtls.srtp.encrypt(payload, header));
  }

  /** Sends one compound RTCP packet (already serialized). */
  sendRtcp(packet: Buffer): void {
    this.transmit(this.dtls.srtcp.encrypt(packet));
  }

  async close(): Promise<void> {
    await this.dtls.stop().catch(() => undefined);
    await this.ice.stop().catch(() => undefined);
  }
}

/** RTP or RTCP (RFC 7983 demultiplexing: first byte 128–191), at least a header long. */
const isMedia = (data: Buffer): boolean => data.length >= 12 && data[0]! >= 128 && data[0]! <= 191;

/** werift's UDP transport, as far as this module touches it. */
interface UdpTransport {
  socket: dgram.Socket;
  send: (data: Buffer, to?: [string, number]) => Promise<void>;
}

/** The UDP socket and remote address ICE selected, when werift's transport exposes them. */
function selectedSocket(ice: RTCIceTransport): { transport: UdpTransport; socket: dgram.Socket; address: string; port: number } | null {
  const pair = ice.connection.nominated;
  const transport: unknown = pair ? (pair.protocol as { transport?: unknown }).transport : undefined;
  if (!pair || typeof transport !== 'object' || transport === null || !('socket' in transport) || !('send' in transport)) return null;
  const socket = transport.socket as dgram.Socket;
  if (typeof socket.send !== 'function' || typeof socket.listeners !== 'function' || typeof socket.connect !== 'function') return null;
  return { transport: transport as UdpTransport, socket, address: pair.remoteCandidate.host, port: pair.remoteCandidate.port };
}
