// Over ~350 lines on purpose: one state machine (join, lobby, leave, reconnect, resume, rejoin) whose
// transitions are easier to check side by side than spread over files.
import { ConclaveError, RedirectError } from '../../../shared/errors.js';
import { LEAVE_BEACON_PATH, type JoinResponse, type LeaveBeacon, type ParticipantInfo, type TransportInfo } from '../../../shared/protocol.js';
import { moderates } from '../../../shared/roles.js';
import type { DataChannels } from './data/DataChannels.js';
import type { Emit, Report } from './events.js';
import { markJoin } from './joinMarks.js';
import type { LocalMedia } from './LocalMedia.js';
import { LobbyWait } from './LobbyWait.js';
import { NodeFailover } from './NodeFailover.js';
import type { Meeting } from './Meeting.js';
import type { MediaTransports } from './MediaTransports.js';
import type { ConferenceOptions } from './options.js';
import { checkProtocol, ProtocolMismatchError } from './protocolVersion.js';
import type { RemoteMedia } from './RemoteMedia.js';
import { NoAnswerError, type Signaling } from './Signaling.js';
import type { CallProblem, ConnectionState, DeviceSource, Farewell } from './types.js';

export interface SessionContext {
  signaling: Signaling;
  transports: MediaTransports;
  local: LocalMedia;
  remote: RemoteMedia;
  data: DataChannels;
  meeting: Meeting;
  emit: Emit;
  report: Report;
}

/** How long a join may take before the client gives up on it (the server may be very busy). */
const JOIN_TIMEOUT_MS = 30_000;
/** Redirects followed in a row before a join gives up (nodes that disagree would send us round in circles). */
const MAX_REDIRECTS = 3;
/** How long a polite leave waits for the server's answer before closing anyway. */
const LEAVE_TIMEOUT_MS = 1000;
/** After a server-side disconnect Socket.IO does not retry by itself; we do, after this. */
const RECONNECT_DELAY_MS = 1000;
/** A lost place is joined again, retrying these answers (the server is between workers or restarting)… */
const REJOIN_RETRYABLE = new Set<string>(['UNAVAILABLE', 'INTERNAL', 'SHUTTING_DOWN', 'ALREADY_JOINED']);
/** …for this long, backing off from REJOIN_FIRST_DELAY_MS to REJOIN_MAX_DELAY_MS. */
const REJOIN_GIVE_UP_MS = 120_000;
const REJOIN_FIRST_DELAY_MS = 250;
const REJOIN_MAX_DELAY_MS = 4000;

/**
 * Our place in the room, as a state machine: idle → connecting (⇄ waiting in a locked room's
 * lobby) → joined ⇄ reconnecting → left. A dropped connection resumes the same place (or, past
 * the grace period, joins afresh with the same tracks); a media reset from the server brings new
 * transports; leaving releases everything. Taken out of the room (`removed`), we stay out.
 */
export class Session {
  self: ParticipantInfo | null = null;
  /** Set when the call ended because we were removed or not let in. */
  farewell: Farewell | null = null;
  /** Why we are reconnecting, or why the call ended on a failure (null otherwise). */
  problem: CallProblem | null = null;
  private connection: ConnectionState = 'idle';
  private readonly lobby: LobbyWait;
  /** In a cluster: another node to turn to when ours is gone. */
  private readonly failover: NodeFailover;
  /** Proof for `resume` after a dropped connection. */
  private resumeToken: string | null = null;
  private shutdownNotice: string | null = null;
  /** Our node is stopping and gave us this to continue in the same place on another node (a cluster). */
  private moveTicket: string | null = null;

  constructor(
    private readonly context: SessionContext,
    private readonly options: ConferenceOptions,
  ) {
    this.lobby = new LobbyWait(context.signaling, (present) => context.emit('lobbyStatus', present));
    this.failover = new NodeFailover(context.signaling);
    this.listen();
  }

  get state(): ConnectionState {
    return this.connection;
  }

  /** While we wait in a lobby: whether anyone who can let us in is in the room. */
  get waiting(): { moderatorsPresent: boolean } | null {
    return this.connection === 'waiting' ? { moderatorsPresent: this.lobby.moderatorsPresent } : null;
  }

  /**
   * Connects, joins and publishes. Media permission prompts run in parallel with the connection so
   * they do not add to the time until the first remote frame.
   */
  async join(): Promise<JoinResponse> {
    const { signaling, transports, local } = this.context;
    this.setConnection('connecting');
    const welcome = signaling.open();
    transports.prepare();
    const wanted: DeviceSource[] = [];
    if (this.options.mic) wanted.push('mic');
    if (this.options.cam) wanted.push('camera');
    const localTracks = local.acquire(wanted);
    try {
      const { protocolVersion, routerRtpCapabilities } = await welcome;
      markJoin('welcome');
      const mismatch = checkProtocol(protocolVersion);
      if (mismatch) throw mismatch;
      await transports.load(routerRtpCapabilities);
      markJoin('deviceLoaded');
      const joined = await this.enterRoom();
      await localTracks;
      // The room asks newcomers to arrive muted: the microphone is published paused (they may unmute).
      if (joined.policy.joinMuted && !moderates(joined.self.role)) local.arriveMuted();
      await this.publishAll();
      markJoin('published');
      return joined;
    } catch (error) {
      if (this.connection !== 'left') this.fail(error);
      throw error;
    }
  }

  /**
   * The page is going away (tab closed, navigated off). A socket message sent now may never leave
   * a page being torn down, so a beacon, which the browser delivers after the page is gone, says
   * it too; the server counts whichever arrives first. Without either, our place would wait out
   * the reconnect grace period and everyone would see a frozen tile.
   */
  leaveOnUnload(): void {
    if (this.connection !== 'left') this.sendLeaveBeacon();
    void this.leave();
  }

  /**
   * Leaves the room, releases camera and microphone, and closes the connection. When the server
   * does not answer in time (a slow link, a busy machine), the leave beacon says it instead, so our
   * place does not linger as a frozen tile for the reconnect grace period.
   */
  async leave(): Promise<void> {
    if (this.connection === 'left') return;
    if (this.connection === 'joined') {
      const answered = await Promise.race([
        this.context.signaling.request('leave', {}, { immediate: true }).then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), LEAVE_TIMEOUT_MS)),
      ]);
      if (!answered) this.sendLeaveBeacon();
    }
    this.end();
  }

  /** Tells the server we left, over HTTP, in a way the browser delivers even after the page is gone. */
  private sendLeaveBeacon(): void {
    if (!this.self || !this.resumeToken || typeof navigator.sendBeacon !== 'function') return;
    const beacon: LeaveBeacon = { peerId: this.self.id, resumeToken: this.resumeToken };
    navigator.sendBeacon(new URL(LEAVE_BEACON_PATH, this.context.signaling.url).href, JSON.stringify(beacon));
  }

  private listen(): void {
    const { signaling } = this.context;
    signaling.on('mediaReset', ({ sendTransport, recvTransport }) => void this.resetMedia(sendTransport, recvTransport));
    signaling.on('serverShutdown', ({ message, moveTicket }) => {
      this.shutdownNotice = message;
      if (moveTicket !== undefined) this.moveTicket = moveTicket;
      this.failover.homeClosing();
    });
    // The server could not keep the room (its media workers failed): join it again by ourselves.
    signaling.on('roomLost', ({ message }) => {
      if (this.connection !== 'joined') return;
      this.setConnection('reconnecting', message, { kind: 'roomLost' });
      void this.rejoin();
    });
    signaling.on('removed', ({ reason, message }) => {
      if (this.connection === 'left') return;
      this.farewell = { reason, message };
      this.end(message);
    });
    signaling.onDisconnect(({ reason, retrying }) => {
      // The server forgot our knock with the connection; we knock again once it is back (welcome).
      if (this.connection === 'waiting') {
        if (!retrying) setTimeout(() => this.connection === 'waiting' && signaling.connect(), RECONNECT_DELAY_MS);
        return;
      }
      if (this.connection === 'joined') {
        signaling.hold();
        const problem: CallProblem =
          this.shutdownNotice === null
            ? { kind: 'connectionLost', detail: reason }
            : this.moveTicket !== null
              ? { kind: 'movingNode' }
              : { kind: 'serverRestarting' };
        this.setConnection('reconnecting', this.shutdownNotice ?? `Connection lost (${reason}); reconnecting…`, problem);
      } else if (this.connection !== 'reconnecting') {
        return;
      }
      if (!retrying) setTimeout(() => this.connection === 'reconnecting' && signaling.connect(), RECONNECT_DELAY_MS);
    });
    // The server greets every new connection: that is the moment to take our place back, unless
    // it came back speaking another protocol (upgraded while we were away).
    signaling.on('welcome', (welcome) => {
      if (this.connection === 'waiting') this.lobby.interrupt('again');
      // With a place to take back, a welcome from a stand-in node may send us home to wait (NodeFailover).
      if (this.connection !== 'reconnecting' || (this.resumeToken !== null && this.failover.shouldGoHome(welcome))) return;
      const mismatch = checkProtocol(welcome.protocolVersion);
      if (mismatch) this.fail(mismatch);
      else void this.recover();
    });
  }

  /**
   * Joins with the loaded device; shared by the first join and a rejoin after a lost place. A
   * locked room puts us in its lobby (IN_LOBBY): we wait there, and once let in, join again on the
   * same connection, which goes straight in.
   */
  private async enterRoom(): Promise<JoinResponse> {
    const before = this.connection;
    for (;;) {
      this.lobby.begin();
      try {
        return await this.requestJoin();
      } catch (error) {
        if (!(error instanceof ConclaveError) || error.code !== 'IN_LOBBY') {
          // A knock again after a dropped connection failed: the caller decides as before the lobby.
          if (this.connection === 'waiting') this.setConnection(before);
          throw error;
        }
      }
      await this.waitInLobby();
    }
  }

  /** Returns when we may join (again); throws when we are not let in, or left meanwhile. */
  private async waitInLobby(): Promise<void> {
    if (this.connection !== 'waiting') this.setConnection('waiting');
    const outcome = await this.lobby.wait();
    if (outcome === 'left' || this.connection !== 'waiting') throw new ConclaveError('NOT_JOINED', 'Left the lobby');
    if (outcome !== 'again' && !outcome.answer.admitted) {
      const { reason = 'denied', message } = outcome.answer;
      this.farewell = { reason, message };
      this.end(message);
      throw new ConclaveError('FORBIDDEN', message);
    }
  }

  private async requestJoin(): Promise<JoinResponse> {
    const { signaling, transports, remote, meeting } = this.context;
    const device = transports.device;
    if (!device) throw new Error('The device is not loaded');
    const request = {
      roomId: this.options.roomId,
      displayName: this.options.displayName,
      rtpCapabilities: device.rtpCapabilities,
      dataChannels: true,
      lobby: this.options.lobby ?? false,
      ...(this.options.token ? { token: this.options.token } : {}),
      ...(transports.aheadDtlsParameters ? { dtlsParameters: transports.aheadDtlsParameters } : {}),
      ...(this.moveTicket !== null ? { move: this.moveTicket } : {}),
    };
    markJoin('joinSent');
    let joined: JoinResponse;
    for (let hops = 0; ; hops++) {
      try {
        // A join makes two transports on a media worker; a busy server can take well over 10 s.
        joined = await signaling.request('join', request, { immediate: true, timeoutMs: JOIN_TIMEOUT_MS });
        break;
      } catch (error) {
        // In a cluster the room lives on one node: join there, on a connection of its own.
        if (!(error instanceof RedirectError) || hops >= MAX_REDIRECTS) throw error;
        const from = signaling.url;
        const welcome = await signaling.moveTo(error.url).catch(async () => {
          // The room's node does not answer (gone, and the cluster has not noticed yet): back where we were, to ask again.
          await signaling.moveTo(from).catch(() => undefined);
          throw new ConclaveError('UNAVAILABLE', `The node hosting this room (${error.url}) does not answer; trying again`);
        });
        const mismatch = checkProtocol(welcome.protocolVersion);
        if (mismatch) throw mismatch;
      }
    }
    markJoin('joinAnswer');
    this.moveTicket = null;
    this.self = joined.self;
    this.resumeToken = joined.resumeToken;
    meeting.joined(joined.policy);
    this.setTransports(joined.sendTransport, joined.recvTransport, joined.iceServers);
    signaling.release();
    this.setConnection('joined');
    for (const participant of joined.participants) remote.add(participant);
    return joined;
  }

  /**
   * Back online: take our place back (queued notifications follow), or, if the grace period
   * passed, join again as a new participant with the same tracks. Media transports whose ICE
   * broke meanwhile restart ICE.
   */
  private async recover(): Promise<void> {
    const { signaling, transports, data, report } = this.context;
    const self = this.self;
    if (!transports.device || !self || !this.resumeToken) return;
    try {
      await signaling.request('resume', { peerId: self.id, resumeToken: this.resumeToken }, { immediate: true });
      signaling.release();
      this.shutdownNotice = null;
      this.setConnection('joined');
      data.resync();
      transports.restartBroken();
    } catch (error) {
      if (!(error instanceof ConclaveError) || error.code !== 'RESUME_FAILED') {
        report(error);
        signaling.reconnect();
        return;
      }
      await this.rejoin();
    }
  }

  /**
   * Our place in the room is gone (the grace period passed, or the server lost the room): join
   * again as a new participant with the same tracks, retrying while the server has no media
   * worker for us yet; past REJOIN_GIVE_UP_MS, or on a refusal retrying cannot change, the call ends.
   */
  private async rejoin(): Promise<void> {
    this.dropRoomState();
    const startedAt = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.enterRoom();
        break;
      } catch (error) {
        if (this.connection !== 'reconnecting') return;
        const code = error instanceof ConclaveError ? error.code : 'INTERNAL';
        if (!REJOIN_RETRYABLE.has(code) || Date.now() - startedAt > REJOIN_GIVE_UP_MS) {
          this.fail(error);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(REJOIN_MAX_DELAY_MS, REJOIN_FIRST_DELAY_MS * 2 ** attempt)));
        if (this.connection !== 'reconnecting') return;
      }
    }
    this.shutdownNotice = null;
    await this.publishAll().catch(this.context.report);
  }

  /** The server moved the room to another worker: new transports, publish again. */
  private async resetMedia(sendTransport: TransportInfo, recvTransport: TransportInfo): Promise<void> {
    if (!this.context.transports.device) return;
    this.dropMedia();
    this.setTransports(sendTransport, recvTransport);
    await this.publishAll();
  }

  private setTransports(send: TransportInfo, recv: TransportInfo, iceServers?: RTCIceServer[]): void {
    const created = this.context.transports.set(send, recv, iceServers);
    this.context.data.attach(created.send, created.recv);
  }

  /** Media first, then the data channels, so the first video does not wait behind them. */
  private async publishAll(): Promise<void> {
    await this.context.local.publishAll();
    this.context.data.open();
  }

  /** Forgets everything received and the transports, keeping our own tracks. */
  private dropMedia(): void {
    const { local, remote, data, transports } = this.context;
    local.forgetProducers();
    remote.dropConsumers();
    data.detach();
    transports.close();
  }

  /** Our place in the room is gone: forget the others too (a fresh join brings them back). */
  private dropRoomState(): void {
    this.dropMedia();
    this.context.remote.removeAll();
    this.context.data.reset();
    this.context.meeting.clear();
    this.self = null;
    this.resumeToken = null;
  }

  private setConnection(state: ConnectionState, reason?: string, problem: CallProblem | null = null): void {
    if (state === 'joined') this.failover.settled();
    else if (state === 'reconnecting') this.failover.start();
    else this.failover.stop();
    this.connection = state;
    this.problem = problem;
    this.context.emit('connectionState', state, reason);
  }

  /** Releases everything and moves to 'left'; a reason means the call ended on a failure. */
  private end(reason?: string, problem: CallProblem | null = null): void {
    this.teardown();
    this.setConnection('left', reason, problem);
    this.lobby.interrupt('left');
  }

  /** The call ends on a failure. */
  private fail(error: unknown): void {
    this.end(error instanceof Error ? error.message : String(error), problemOf(error));
  }

  private teardown(): void {
    const { local, remote, data, transports, signaling, meeting } = this.context;
    meeting.clear();
    local.release();
    transports.close();
    data.close();
    remote.clear();
    signaling.close();
  }
}

/** A failure as data for the views (see CallProblem). */
function problemOf(error: unknown): CallProblem {
  if (error instanceof ProtocolMismatchError) return { kind: 'protocol', pageVersion: error.pageVersion, serverVersion: error.serverVersion };
  if (error instanceof NoAnswerError) return error.timeoutMs === null ? { kind: 'unreachable' } : { kind: 'noAnswer', seconds: error.timeoutMs / 1000 };
  if (error instanceof ConclaveError) return { kind: 'refused', code: error.code };
  return { kind: 'unexpected', detail: error instanceof Error ? error.message : String(error) };
}
