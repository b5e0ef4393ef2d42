import { Rng } from './random.js';
import type { Exchange, FuzzerOptions, Message } from './requests.js';

/**
 * Where a fuzzer's connection is (lobby or joined) and which objects are its own or were, learnt
 * from the server's answers; the generator names them and the driver decides answers by them.
 */
export class FuzzerState {
  readonly exchanges: Exchange[] = [];
  sent = 0;
  withoutAck = 0;
  /** Generated messages that trigger a server bug this suite found: withheld unless `regressions`. */
  regressionTriggers = 0;
  /** Functions placed before the last argument: they are not acknowledgements, so never called. */
  strayCallbacksCalled = 0;

  protected state: 'lobby' | 'joined' = 'lobby';
  protected readonly current = { peerId: '', resumeToken: '', transports: [] as string[], producers: [] as string[], consumers: [] as string[] };
  protected readonly stale = {
    peers: [] as string[],
    tokens: [] as string[],
    transports: [] as string[],
    producers: [] as string[],
    consumers: [] as string[],
  };
  protected readonly used = { ssrcs: new Set<number>(), mids: new Set<string>(), rids: new Set<string>(), streams: new Set<number>() };
  /** Files this fuzzer offered (ids are small room-wide counters, so others' are guessable too). */
  protected readonly files: number[] = [];
  /** SCTP stream ids for produceData templates. */
  protected nextStreamId = 0;
  protected readonly rng: Rng;
  protected readonly inflight = new Set<Promise<void>>();

  constructor(protected readonly options: FuzzerOptions) {
    this.rng = options.rng;
    // Regression guard (a server bug this suite found): resumeConsumer answered INTERNAL when the
    // consumer's producer closes at that moment (the worker has closed the consumer, the server has
    // not heard yet). Other fuzzers' producers come and go, so only consumers of the real call's
    // producers, which stay, are this fuzzer's to resume.
    options.participant.socket.on('newConsumer', (consumer) => {
      if (options.regressions || options.foreign.peers.includes(consumer.peerId)) this.current.consumers.push(consumer.id);
    });
  }

  get name(): string {
    return this.options.name;
  }

  get room(): string {
    return `fuzz-${this.options.index}`;
  }

  /** Keeps track of where the connection is and which objects are its own, from the answers. */
  protected learn(message: Message, answer: unknown): void {
    if (typeof answer !== 'object' || answer === null || !('ok' in answer) || answer.ok !== true || !('data' in answer)) return;
    const data = answer.data;
    if (typeof data !== 'object' || data === null) return;
    switch (message.event) {
      case 'join':
        if ('self' in data && 'sendTransport' in data && 'recvTransport' in data && 'resumeToken' in data) {
          const { self, sendTransport, recvTransport, resumeToken } = data as {
            self: { id: string };
            sendTransport: { id: string };
            recvTransport: { id: string };
            resumeToken: string;
          };
          this.state = 'joined';
          this.current.peerId = self.id;
          this.current.resumeToken = resumeToken;
          this.current.transports = [sendTransport.id, recvTransport.id];
          this.current.producers = [];
          this.current.consumers = [];
        }
        break;
      case 'leave':
      case 'endMeeting': // alone in its own rooms, a fuzzer is their host: ending the meeting takes it out
        this.left();
        break;
      case 'produce':
        if ('producerId' in data && typeof data.producerId === 'string') this.current.producers.push(data.producerId);
        break;
      case 'offerFile':
        if ('fileId' in data && typeof data.fileId === 'number') this.files.push(data.fileId);
        break;
      default:
        break;
    }
  }

  /** Out of the room (left, or its meeting ended): what it had is stale now. */
  private left(): void {
    if (this.state === 'joined') {
      this.stale.peers.push(this.current.peerId);
      this.stale.tokens.push(this.current.resumeToken);
      this.stale.transports.push(...this.current.transports);
      this.stale.producers.push(...this.current.producers);
      this.stale.consumers.push(...this.current.consumers);
    }
    this.state = 'lobby';
    this.current.peerId = '';
    this.current.resumeToken = '';
    this.current.transports = [];
    this.current.producers = [];
    this.current.consumers = [];
  }
}
