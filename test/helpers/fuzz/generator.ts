import { Buffer } from 'node:buffer';
import { DATA_LABELS } from '../../../shared/data.js';
import type { MediaSource, RequestName } from '../../../shared/protocol.js';
import { binaryValue, deepNest, hostileString, hostileValue, longString, POLLUTING_JSON, pollutingObject, randomId, setOwn } from './hostile.js';
import { mutate, oversize } from './mutate.js';
import { CLIENT_RESERVED, dtlsParameters, type Message, parse, type Parsed, type Prepared, REQUEST_NAMES, rtpParameters, UNKNOWN_EVENTS } from './requests.js';
import { FuzzerState } from './state.js';
import { containsBinary, containsOwnProtoKey, serverView, textBytes } from './wire.js';

/** Generating a fuzzer's next message: mutated, templated, unknown or raw-shaped requests. */
export abstract class MessageGenerator extends FuzzerState {
  /** The message with its expected answer (made valid where it must be, see the driver). */
  protected abstract prepare(message: Message, parsed?: Parsed): Prepared;

  protected generate(): Prepared {
    for (;;) {
      const message = this.candidate();
      const view = serverView(message.args);
      if (containsBinary(message.args) && containsOwnProtoKey(message.args)) continue; // the client's binary encoder cannot keep own __proto__ keys
      if (textBytes(message.event, view) > this.options.maxBytes) continue;
      const parsed = parse(message);
      if (parsed.status === 'throws') {
        // Regression (a server bug this suite found): the server's schema validation threw on this
        // payload, outside any try, so the request was never answered and the rejection was unhandled
        // (it ended a production server process). Withheld with FUZZ_REGRESSIONS=0.
        this.regressionTriggers++;
        if (!this.options.regressions) continue;
      }
      return this.prepare(message, parsed);
    }
  }

  protected candidate(): Message {
    const rng = this.rng;
    const kind = rng.weighted<string>([
      [42, 'mutated'],
      [14, 'valid'],
      [16, 'hostile'],
      [7, 'crossed'],
      [9, 'unknown'],
      [5, 'deep'],
      [5, 'polluting'],
      [3, 'binary'],
      [3, 'big'],
    ]);
    // `leave` is rare so the fuzzers spend most of their time joined, where most handlers are.
    const event: RequestName = rng.weighted<RequestName>(REQUEST_NAMES.map((name) => [name === 'leave' ? 1 : name === 'join' ? 5 : 12, name] as const));
    let payload: unknown;
    let note: string;
    let name: string | number = event;
    switch (kind) {
      case 'mutated': {
        const mutation = mutate(rng, this.template(event), () => this.anyId());
        payload = mutation.value;
        note = `mutated ${event}: ${mutation.notes.join(', ')}`;
        break;
      }
      case 'valid':
        payload = this.template(event);
        note = `template ${event}`;
        break;
      case 'hostile':
        payload = hostileValue(rng);
        note = `hostile ${event}`;
        break;
      case 'crossed': {
        const other = rng.pick(REQUEST_NAMES);
        payload = this.template(other);
        note = `${other} payload sent as ${event}`;
        break;
      }
      case 'unknown':
        name = rng.chance(0.7) ? rng.pick(UNKNOWN_EVENTS) : hostileString(rng, 40);
        if (typeof name === 'string' && CLIENT_RESERVED.has(name)) name = `x${name}`;
        payload = rng.chance(0.5) ? this.template(rng.pick(REQUEST_NAMES)) : hostileValue(rng);
        note = `unknown event ${JSON.stringify(name).slice(0, 40)}`;
        break;
      case 'deep': {
        const template = this.template(event);
        const keys = Object.keys(template);
        if (keys.length > 0 && rng.chance(0.6)) {
          setOwn(template, rng.pick(keys), deepNest(rng));
          payload = template;
        } else {
          payload = deepNest(rng);
        }
        note = `deep ${event}`;
        break;
      }
      case 'polluting': {
        const template = rng.chance(0.5) ? this.template(event) : pollutingObject(rng);
        const polluted = JSON.parse(rng.pick(POLLUTING_JSON)) as Record<string, unknown>;
        for (const key of Object.keys(template)) if (!Object.hasOwn(polluted, key)) setOwn(polluted, key, template[key]);
        payload = rng.chance(0.3) ? JSON.parse(`{"__proto__":${JSON.stringify(template)}}`) : polluted;
        note = `polluting ${event}`;
        break;
      }
      case 'binary': {
        const template = this.template(event);
        const keys = Object.keys(template);
        if (keys.length > 0 && rng.chance(0.7)) setOwn(template, rng.pick(keys), binaryValue(rng));
        payload = rng.chance(0.8) ? template : binaryValue(rng);
        note = `binary ${event}`;
        break;
      }
      default: {
        const template = this.template(event);
        const keys = Object.keys(template);
        if (keys.length > 0) setOwn(template, rng.pick(keys), rng.chance(0.7) ? longString(rng) : oversize(rng, template[rng.pick(keys)]));
        else setOwn(template, 'padding', longString(rng));
        payload = template;
        note = `big ${event}`;
        break;
      }
    }
    return this.arrange(name, payload, note);
  }

  /** Puts the payload among the arguments: alone, with extras, missing, or behind stray callbacks. */
  protected arrange(event: string | number, payload: unknown, note: string): Message {
    const rng = this.rng;
    const stray = (): void => {
      this.strayCallbacksCalled++;
    };
    const shape = rng.weighted<string>([
      [70, 'payload'],
      [10, 'extras'],
      [5, 'none'],
      [5, 'callback first'],
      [5, 'callback between'],
      [5, 'undefined first'],
    ]);
    let args: unknown[];
    switch (shape) {
      case 'payload':
        args = [payload];
        break;
      case 'extras':
        args = [payload, ...Array.from({ length: rng.int(1, 5) }, () => hostileValue(rng, 2))];
        break;
      case 'none':
        args = [];
        break;
      case 'callback first':
        args = [stray, payload];
        break;
      case 'callback between':
        args = [payload, stray, hostileValue(rng, 2)];
        break;
      default:
        args = [rng.chance(0.5) ? undefined : null, payload];
        break;
    }
    const ack = rng.chance(0.8);
    return { event, args, ack, note: `${note} [${shape}${ack ? '' : ', no ack'}]` };
  }

  protected template(event: RequestName): Record<string, unknown> {
    const rng = this.rng;
    const participant = this.options.participant;
    switch (event) {
      case 'join':
        return {
          roomId: rng.weighted<() => string>([
            [3, () => this.options.foreign.room],
            [3, () => this.room],
            [2, () => `${this.room}-${rng.int(0, 3)}`],
            [2, () => hostileString(rng, 70)],
          ])(),
          displayName: rng.chance(0.7) ? `${this.name}-${rng.int(0, 99)}` : hostileString(rng, 45),
          rtpCapabilities: participant.joinCapabilities(),
          ...(rng.chance(0.5) ? { dataChannels: true } : {}),
          ...(rng.chance(0.1) ? { lobby: true } : {}),
          ...(rng.chance(0.2) ? { token: rng.chance(0.5) ? 'eyJhbGciOiJub25lIn0.eyJyb29tIjoiKiJ9.' : hostileString(rng, 100) } : {}),
        };
      case 'leave':
        return {};
      case 'connectTransport':
        return { transportId: this.transportId(), dtlsParameters: dtlsParameters(rng) };
      case 'produce': {
        const source = rng.pick<MediaSource>(['mic', 'camera', 'screen']);
        return {
          transportId: this.transportId(),
          kind: source === 'mic' ? 'audio' : 'video',
          rtpParameters: rtpParameters(rng, participant.routerRtpCapabilities, source),
          source,
          ...(rng.chance(0.3) ? { paused: rng.chance(0.5) } : {}),
        };
      }
      case 'closeProducer':
        return { producerId: this.producerId() };
      case 'setProducerPaused':
        return { producerId: this.producerId(), paused: rng.chance(0.5) };
      case 'resumeConsumer':
        return { consumerId: this.consumerId() };
      case 'restartIce':
        return { transportId: this.transportId() };
      case 'setConsumerPreferences':
        return {
          consumerId: this.consumerId(),
          ...(rng.chance(0.6) ? { paused: rng.chance(0.5) } : {}),
          ...(rng.chance(0.5) ? { spatialLayer: rng.int(0, 2) } : {}),
          ...(rng.chance(0.5) ? { temporalLayer: rng.int(0, 2) } : {}),
        };
      case 'produceData': {
        const label = rng.pick(DATA_LABELS);
        return {
          transportId: this.transportId(),
          label,
          sctpStreamParameters: { streamId: this.nextStreamId++, ...(label === 'fast' ? { ordered: false, maxRetransmits: 0 } : { ordered: true }) },
          ...(rng.chance(0.3) ? { protocol: rng.pick(['', 'json', 'conclave']) } : {}),
        };
      }
      case 'dataSync':
        return {};
      case 'offerFile':
        return {
          name: rng.chance(0.7) ? `${rng.pick(['notes', 'photo', 'slides'])}.${rng.pick(['txt', 'png', 'pdf'])}` : hostileString(rng, 40),
          type: rng.pick(['', 'text/plain', 'image/png', 'application/pdf; charset=binary']),
          size: rng.pick([0, 1, 1_000, 65_536, 10_000_000, 2 ** 40]),
        };
      case 'cancelFile':
        return { fileId: rng.chance(0.6) ? this.pickFile() : rng.int(1, 50) };
      case 'resume':
        return {
          peerId: rng.weighted<() => string>([
            [3, () => rng.pick(this.options.foreign.peers)],
            [2, () => this.current.peerId || randomId(rng)],
            [2, () => this.pickOr(this.stale.peers)],
            [1, () => randomId(rng)],
          ])(),
          resumeToken: rng.weighted<() => string>([
            [2, () => this.current.resumeToken || randomId(rng)],
            [2, () => this.pickOr(this.stale.tokens)],
            [3, () => Buffer.from(Array.from({ length: 24 }, () => rng.int(0, 255))).toString('base64url')],
            [1, () => hostileString(rng, 40) || 'x'],
          ])(),
        };
      case 'muteParticipant':
        return { peerId: this.somePeer(), source: rng.pick<MediaSource>(['mic', 'camera', 'screen']) };
      case 'askToUnmute':
        return { peerId: this.somePeer() };
      case 'removeParticipant':
        return { peerId: this.somePeer(), ...(rng.chance(0.5) ? { ban: rng.chance(0.5) } : {}) };
      case 'setRole':
        return { peerId: this.somePeer(), role: rng.pick(['moderator', 'participant', 'host']) };
      case 'setPolicy':
        return {
          ...(rng.chance(0.5) ? { locked: rng.chance(0.5) } : {}),
          ...(rng.chance(0.3) ? { screenShare: rng.pick(['everyone', 'moderators', 'nobody']) } : {}),
          ...(rng.chance(0.3) ? { chat: rng.pick(['everyone', 'moderators']) } : {}),
          ...(rng.chance(0.3) ? { joinMuted: rng.chance(0.5) } : {}),
        };
      case 'answerKnocks':
        return { admit: rng.chance(0.5), ...(rng.chance(0.5) ? { knockIds: [randomId(rng)] } : {}) };
      case 'lowerHand':
        return rng.chance(0.5) ? {} : { peerId: this.somePeer() };
      case 'react':
        return { reaction: rng.pick(['👍', '🎉', 'x', '👍👍']) };
      case 'startRecording':
        return rng.chance(0.5) ? {} : { layout: rng.pick(['grid', 'speaker', 'mosaic']) };
      case 'startStream':
        return {
          url: rng.pick(['rtmp://127.0.0.1:1/live/key', 'rtmps://example.invalid/app/secret', 'http://example.invalid/live', hostileString(rng, 60)]),
          ...(rng.chance(0.5) ? { layout: rng.pick(['grid', 'speaker']) } : {}),
        };
      case 'muteAll':
      case 'endMeeting':
      case 'lowerAllHands':
      case 'raiseHand':
      case 'stopRecording':
      case 'stopStream':
        return {};
    }
  }

  protected pickFile(): number {
    return this.files.length > 0 ? this.rng.pick(this.files) : this.rng.int(1, 50);
  }

  /** A participant of another room (which no moderator here may touch), of this one, or nobody. */
  protected somePeer(): string {
    return this.rng.weighted<() => string>([
      [3, () => this.rng.pick(this.options.foreign.peers)],
      [2, () => this.current.peerId || randomId(this.rng)],
      [1, () => this.pickOr(this.stale.peers)],
      [1, () => randomId(this.rng)],
    ])();
  }

  protected pickOr(pool: readonly string[]): string {
    return pool.length > 0 ? this.rng.pick(pool) : randomId(this.rng);
  }

  protected transportId(): string {
    return this.rng.weighted<() => string>([
      [8, () => this.pickOr(this.current.transports)],
      [4, () => this.rng.pick(this.options.foreign.transports)],
      [1, () => this.pickOr(this.stale.transports)],
      [1, () => randomId(this.rng)],
    ])();
  }

  protected producerId(): string {
    return this.rng.weighted<() => string>([
      [8, () => this.pickOr(this.current.producers)],
      [4, () => this.rng.pick(this.options.foreign.producers)],
      [1, () => this.pickOr(this.stale.producers)],
      [1, () => randomId(this.rng)],
    ])();
  }

  protected consumerId(): string {
    return this.rng.weighted<() => string>([
      [8, () => this.pickOr(this.current.consumers)],
      [4, () => this.rng.pick(this.options.foreign.consumers)],
      [1, () => this.pickOr(this.stale.consumers)],
      [1, () => randomId(this.rng)],
    ])();
  }

  /** Any id this fuzzer knows of, the real call's first. */
  protected anyId(): unknown {
    const { foreign } = this.options;
    return this.rng.weighted<() => unknown>([
      [6, () => this.rng.pick([...foreign.transports, ...foreign.producers, ...foreign.consumers, ...foreign.peers])],
      [3, () => this.pickOr([...this.current.transports, ...this.current.producers, ...this.current.consumers])],
      [1, () => this.pickOr([...this.stale.transports, ...this.stale.producers, ...this.stale.consumers])],
      [1, () => randomId(this.rng)],
    ])();
  }
}
