import type { ErrorCode } from '../../../shared/errors.js';
import type { RequestName } from '../../../shared/protocol.js';
import { MessageGenerator } from './generator.js';
import type { Expectation } from './judge.js';
import { isContainer } from './mutate.js';
import { sendRegressionTriggers } from './regressions.js';
import { dtlsParameters, ID_EVENTS, type LooseEmitter, type Message, parse, type Parsed, type Prepared, rtpParameters } from './requests.js';

/**
 * Sends a stream of hostile requests on one socket and records every acknowledgement with what was
 * acceptable for it. Valid join, leave and resume requests change where the connection is, so they
 * are sent with an acknowledgement and alone (nothing else in flight); everything else is pipelined.
 */
export class Fuzzer extends MessageGenerator {
  /** Joins `home` if this fuzzer has one (a valid join: it must succeed). */
  async settle(): Promise<void> {
    if (this.options.home === undefined || this.state === 'joined') return;
    const payload = {
      roomId: this.options.home,
      displayName: `${this.name} ${this.rng.int(0, 999)}`,
      rtpCapabilities: this.options.participant.joinCapabilities(),
      dataChannels: true,
    };
    await this.drain();
    await this.send(this.prepare({ event: 'join', args: [payload], ack: true, note: `join home ${this.options.home}` }));
  }

  /**
   * Sends `count` fuzzed messages, or more if they are done before `until`, or fewer if `deadline`
   * (epoch ms) comes first.
   */
  async run(count: number, { until = 0, deadline = Infinity }: { until?: number; deadline?: number } = {}): Promise<void> {
    await this.settle();
    await this.warmUp();
    if (this.options.regressions) {
      await sendRegressionTriggers({
        name: this.name,
        room: this.room,
        rng: this.rng,
        options: this.options,
        where: () => this.state,
        sendTransport: () => this.current.transports[0],
        prepare: (message) => this.prepare(message),
        send: (prepared) => this.send(prepared),
      });
    }
    for (let i = 0; (i < count || Date.now() < until) && Date.now() < deadline; i++) {
      if (this.state === 'lobby' && this.options.home !== undefined) await this.settle();
      const prepared = this.generate();
      if (prepared.changesPlace) {
        await this.drain();
        await this.send(prepared);
        continue;
      }
      const sending = this.send(prepared);
      this.inflight.add(sending);
      void sending.finally(() => this.inflight.delete(sending));
      if (this.inflight.size >= this.options.window) await Promise.race(this.inflight);
      // Let the socket flush now and then, so ack-less bursts interleave with answers.
      if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
    }
    await this.drain();
  }

  /**
   * A joined fuzzer first uses its own objects the valid way (connect, publish, pause and resume,
   * ICE restart, resume a consumer, unpublish): the server carries these out amid the fuzzing, and
   * the fuzzer then has objects of its own for mutated requests to name.
   */
  private async warmUp(): Promise<void> {
    const [sendTransport, recvTransport] = this.current.transports;
    // `leave` is drawn rarely (see generate): its refusal of a bad payload is checked every run.
    await this.send(this.prepare({ event: 'leave', args: ['not an object'], ack: true, note: 'warm-up: a leave with a payload it does not take' }));
    if (this.state !== 'joined') {
      // Outside a room: one resume of a real participant's place with a wrong token, so that
      // refusal is checked every run rather than when the seed happens to draw it.
      const [peer] = this.options.foreign.peers;
      if (peer !== undefined) {
        await this.send(
          this.prepare({ event: 'resume', args: [{ peerId: peer, resumeToken: 'not-their-token' }], ack: true, note: "reach for the real call's resume" }),
        );
      }
      return;
    }
    if (sendTransport === undefined || recvTransport === undefined) return;
    const rng = this.rng;
    const capabilities = this.options.participant.routerRtpCapabilities;
    const valid = (event: RequestName, payload: Record<string, unknown>): Promise<void> =>
      this.send(this.prepare({ event, args: [payload], ack: true, note: `warm-up ${event}` }));
    await valid('connectTransport', { transportId: sendTransport, dtlsParameters: dtlsParameters(rng) });
    for (const source of ['screen', 'mic'] as const) {
      await valid('produce', {
        transportId: sendTransport,
        kind: source === 'mic' ? 'audio' : 'video',
        rtpParameters: rtpParameters(rng, capabilities, source),
        source,
      });
    }
    const [screen, mic] = this.current.producers;
    if (screen !== undefined) {
      await valid('setProducerPaused', { producerId: screen, paused: true });
      await valid('setProducerPaused', { producerId: screen, paused: false });
    }
    if (mic !== undefined) await valid('closeProducer', { producerId: mic });
    await valid('restartIce', { transportId: recvTransport });
    // In a room with others, their tracks arrive as newConsumer notifications just after the join.
    for (let waited = 0; this.current.consumers.length === 0 && this.options.home === this.options.foreign.room && waited < 5_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const consumer = this.current.consumers[0];
    if (consumer !== undefined) {
      await valid('resumeConsumer', { consumerId: consumer });
      await valid('setConsumerPreferences', { consumerId: consumer, paused: false, spatialLayer: 0, temporalLayer: 0 });
    }
    // Data channels: one of its own, then the room's history, then a file offered and cancelled.
    await valid('produceData', { transportId: sendTransport, label: 'chat', sctpStreamParameters: { streamId: this.nextStreamId++, ordered: true } });
    for (let attempt = 0; attempt < 20; attempt++) {
      await valid('dataSync', {});
      const answer = this.exchanges[this.exchanges.length - 1]?.answers?.[0];
      if (typeof answer === 'object' && answer !== null && 'ok' in answer && answer.ok === true) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await valid('offerFile', { name: 'warm-up.txt', type: 'text/plain', size: 1_000 });
    const file = this.files[this.files.length - 1];
    if (file !== undefined) await valid('cancelFile', { fileId: file });
    // Each id-naming request once on one of the real call's objects, so that refusal is checked
    // every run rather than when the seed happens to draw it.
    const { transports, producers, consumers } = this.options.foreign;
    const reach = (event: RequestName, payload: Record<string, unknown>): Promise<void> =>
      this.send(this.prepare({ event, args: [payload], ack: true, note: `reach for the real call's ${event}` }));
    const [transport] = transports;
    const [producer] = producers;
    const [foreignConsumer] = consumers;
    if (transport !== undefined) {
      await reach('connectTransport', { transportId: transport, dtlsParameters: dtlsParameters(rng) });
      await reach('restartIce', { transportId: transport });
      await reach('produce', { transportId: transport, kind: 'audio', rtpParameters: rtpParameters(rng, capabilities, 'mic'), source: 'mic' });
      await reach('produceData', { transportId: transport, label: 'chat', sctpStreamParameters: { streamId: this.nextStreamId++, ordered: true } });
    }
    if (producer !== undefined) {
      await reach('setProducerPaused', { producerId: producer, paused: true });
      await reach('closeProducer', { producerId: producer });
    }
    if (foreignConsumer !== undefined) {
      await reach('resumeConsumer', { consumerId: foreignConsumer });
      await reach('setConsumerPreferences', { consumerId: foreignConsumer, paused: true });
    }
  }

  private async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  // ---- what the server must answer ----

  /**
   * Decides, before sending, what the server may answer. Valid join, leave and resume requests
   * change where the connection is: they are sent with an acknowledgement and alone (nothing in flight).
   */
  protected prepare(message: Message, parsed: Parsed = parse(message)): Prepared {
    if (parsed.status === 'valid' && parsed.event === 'join') this.ownRoom(message);
    if (parsed.status === 'valid' && parsed.event === 'produce' && !this.options.regressions) this.freshRtpIdentifiers(message);
    if (parsed.status === 'valid' && parsed.event === 'produceData' && !this.options.regressions) this.freshStreamId(message);
    // endMeeting too: in its own room a fuzzer is host, and ending the meeting takes it out.
    const changesPlace = parsed.status === 'valid' && ['join', 'leave', 'resume', 'endMeeting'].includes(parsed.event);
    if (changesPlace) message.ack = true;
    return { message, changesPlace, expected: this.expectation(parsed) };
  }

  /**
   * Regression guard (a server bug this suite found): the server answered INTERNAL when a peer's
   * produce reuses an ssrc, MID or RID of its own earlier producers, or an RTX ssrc equals a media
   * ssrc, because mediasoup's worker reports those as plain Errors. Unless the regressions are sent,
   * valid produce requests get fresh values where they would repeat one.
   */
  private freshRtpIdentifiers(message: Message): void {
    const payload = message.args[0];
    if (!isContainer(payload) || Array.isArray(payload)) return;
    const parameters = payload.rtpParameters;
    if (!isContainer(parameters) || Array.isArray(parameters)) return;
    const base = 100_000_000 * (this.options.index + 1);
    const freshSsrc = (): number => {
      let ssrc = base + this.used.ssrcs.size;
      while (this.used.ssrcs.has(ssrc)) ssrc++;
      return ssrc;
    };
    const unique = <T>(used: Set<T>, value: T, fresh: () => T): T => {
      const chosen = used.has(value) ? fresh() : value;
      used.add(chosen);
      return chosen;
    };
    const { mids, rids, ssrcs } = this.used;
    const index = this.options.index;
    if (typeof parameters.mid === 'string') parameters.mid = unique(mids, parameters.mid, () => `m${index}-${mids.size}`);
    const encodings: unknown[] = Array.isArray(parameters.encodings) ? parameters.encodings : [];
    for (const encoding of encodings) {
      if (!isContainer(encoding) || Array.isArray(encoding)) continue;
      const { ssrc, rtx, rid } = encoding;
      if (typeof ssrc === 'number') encoding.ssrc = unique(ssrcs, ssrc, freshSsrc);
      if (isContainer(rtx) && !Array.isArray(rtx) && typeof rtx.ssrc === 'number') rtx.ssrc = unique(ssrcs, rtx.ssrc, freshSsrc);
      if (typeof rid === 'string') encoding.rid = unique(rids, rid, () => `r${index}-${rids.size}`);
    }
  }

  /**
   * Regression guard (a server bug this suite found): a produceData reusing the SCTP stream id of
   * one of the peer's data producers got INTERNAL (mediasoup's worker reports it as a plain Error).
   * Unless the regressions are sent, valid produceData requests get a fresh stream id where they would repeat one.
   */
  private freshStreamId(message: Message): void {
    const payload = message.args[0];
    if (!isContainer(payload) || Array.isArray(payload)) return;
    const parameters = payload.sctpStreamParameters;
    if (!isContainer(parameters) || Array.isArray(parameters)) return;
    const requested = parameters.streamId;
    if (typeof requested !== 'number') return;
    const streams = this.used.streams;
    let streamId = requested;
    if (streams.has(streamId)) {
      streamId = 30_000 + 1_000 * this.options.index;
      while (streams.has(streamId)) streamId++;
    }
    parameters.streamId = streamId;
    streams.add(streamId);
  }

  /** Keeps a valid join among this fuzzer's own rooms or the real call's, so fuzzers never race each other's rooms closing. */
  private ownRoom(message: Message): void {
    const payload = message.args[0];
    if (!isContainer(payload) || Array.isArray(payload)) return;
    const roomId = payload.roomId;
    if (roomId === this.options.foreign.room || roomId === this.room || (typeof roomId === 'string' && roomId.startsWith(`${this.room}-`))) return;
    payload.roomId = `${this.room}-${String(roomId)}`.slice(0, 64);
  }

  private expectation(parsed: Parsed): Expectation {
    if (parsed.status === 'unknown') return { outcome: 'error', codes: ['BAD_REQUEST'], why: 'unknown event' };
    if (parsed.status === 'invalid') return { outcome: 'error', codes: ['BAD_REQUEST'], why: 'invalid payload' };
    if (parsed.status === 'throws') return { outcome: 'error', codes: ['BAD_REQUEST'], why: 'a payload that makes validation throw' };
    const joined = this.state === 'joined';
    const data = parsed.data;
    switch (parsed.event) {
      case 'join':
        return joined ? { outcome: 'error', codes: ['ALREADY_JOINED'], why: 'join while joined' } : { outcome: 'ok', why: 'valid join from the lobby' };
      case 'leave':
        return { outcome: 'ok', why: 'leave always succeeds' };
      case 'resume':
        return joined
          ? { outcome: 'error', codes: ['ALREADY_JOINED'], why: 'resume while joined' }
          : {
              outcome: 'error',
              codes: ['RESUME_FAILED'],
              why: this.options.foreign.peers.includes(String(data.peerId))
                ? "resume of the real call's place with a wrong token"
                : 'resume of a place that is not in its grace period',
            };
      default:
        break;
    }
    if (!joined) return { outcome: 'error', codes: ['NOT_JOINED'], why: `${parsed.event} from the lobby` };
    switch (parsed.event) {
      case 'dataSync':
        return { outcome: 'either', codes: ['UNSUPPORTED', 'BAD_REQUEST'], why: 'dataSync' };
      case 'offerFile':
        return { outcome: 'either', codes: ['TOO_LARGE', 'BAD_REQUEST', 'RATE_LIMITED'], why: 'offerFile' };
      case 'cancelFile':
        // Transfers are numbered room-wide, so any id may be one this fuzzer is receiving (cancelling that is allowed).
        return { outcome: 'either', codes: ['NOT_FOUND'], why: 'cancelFile' };
      // A fuzzer is host of its own rooms, where it is alone, and a participant in the real call's:
      // nothing it does there may touch the real call, and nobody else is in its own rooms.
      case 'muteParticipant':
      case 'askToUnmute':
      case 'removeParticipant':
      case 'setRole':
        return this.options.foreign.peers.includes(String(data.peerId))
          ? { outcome: 'error', codes: ['FORBIDDEN', 'NOT_FOUND'], why: `${parsed.event} on the real call` }
          : { outcome: 'error', codes: ['FORBIDDEN', 'NOT_FOUND', 'BAD_REQUEST'], why: `${parsed.event} on itself or nobody` };
      case 'muteAll':
      case 'setPolicy':
      case 'answerKnocks':
      case 'endMeeting':
      case 'lowerAllHands':
        return { outcome: 'either', codes: ['FORBIDDEN'], why: `${parsed.event} (allowed to the host of its own room only)` };
      // The fuzz server records nothing (MAX_RECORDINGS=0): a host is refused as unsupported, anyone else as forbidden.
      case 'startRecording':
      case 'startStream':
        return { outcome: 'error', codes: ['FORBIDDEN', 'UNSUPPORTED'], why: `${parsed.event} (recording is off on the fuzz server)` };
      case 'stopRecording':
      case 'stopStream':
        return { outcome: 'error', codes: ['FORBIDDEN', 'NOT_FOUND'], why: `${parsed.event} with nothing running` };
      case 'lowerHand':
        return { outcome: 'either', codes: ['FORBIDDEN', 'NOT_FOUND'], why: 'lowerHand' };
      case 'raiseHand':
        return { outcome: 'ok', why: 'anyone may raise a hand' };
      case 'react':
        return { outcome: 'either', codes: ['RATE_LIMITED'], why: 'react' };
      default:
        break;
    }
    if (!ID_EVENTS.has(parsed.event)) throw new Error(`no expectation for ${parsed.event}`);
    const id = data.transportId ?? data.producerId ?? data.consumerId;
    const own =
      parsed.event === 'resumeConsumer' || parsed.event === 'setConsumerPreferences'
        ? this.current.consumers
        : parsed.event === 'closeProducer' || parsed.event === 'setProducerPaused'
          ? this.current.producers
          : this.current.transports;
    if (typeof id !== 'string' || !own.includes(id)) {
      const whose = [...this.options.foreign.transports, ...this.options.foreign.producers, ...this.options.foreign.consumers].includes(String(id))
        ? "the real call's"
        : 'an unknown or stale';
      return { outcome: 'error', codes: ['NOT_FOUND'], why: `${parsed.event} on ${whose} id` };
    }
    const codes: Record<string, readonly ErrorCode[]> = {
      connectTransport: ['BAD_REQUEST'],
      restartIce: [],
      produce: ['BAD_REQUEST', 'FORBIDDEN', 'UNSUPPORTED'],
      produceData: ['BAD_REQUEST', 'FORBIDDEN', 'UNSUPPORTED'],
      setConsumerPreferences: ['NOT_FOUND'],
      closeProducer: ['NOT_FOUND'],
      setProducerPaused: ['NOT_FOUND'],
      resumeConsumer: ['NOT_FOUND'],
    };
    return { outcome: 'either', codes: codes[parsed.event] ?? [], why: `${parsed.event} on its own object` };
  }

  // ---- sending ----

  private async send({ message, expected }: Prepared): Promise<void> {
    const seq = this.sent++;
    const socket = this.options.participant.socket as unknown as LooseEmitter;
    if (!message.ack) {
      this.withoutAck++;
      if (typeof message.args[message.args.length - 1] === 'function') message.args.push(null);
      socket.emit(message.event, ...message.args);
      return;
    }
    const answers = await new Promise<unknown[] | undefined>((resolve) => {
      socket.timeout(this.options.ackTimeoutMs).emit(message.event, ...message.args, (error: unknown, ...answers: unknown[]) => {
        // Learnt right away: notifications that follow the answer may be dispatched before a continuation would run.
        if (!error) this.learn(message, answers[0]);
        resolve(error ? undefined : answers);
      });
    });
    this.exchanges.push({ fuzzer: this.name, seq, event: message.event, note: message.note, expected, answers });
  }
}
