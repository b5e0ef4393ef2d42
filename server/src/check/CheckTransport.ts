import type { types } from 'mediasoup';
import type { CheckChannels, CheckPath, CheckTransfer } from '../../../shared/check.js';
import { ConclaveError } from '../../../shared/errors.js';
import type { PoolWorker } from '../media/WorkerPool.js';
import { CHECK_LIMITS, CHECK_LOW_WATER_BYTES, CHECK_SCTP_SEND_BUFFER_BYTES } from './limits.js';

/** The streams the browser sends on; the worker picks the ones it sends on (from 0 up), so these stay clear of them. */
const ECHO_STREAM = 100;
const BULK_STREAM = 101;
/** How often the upload's byte count is read while it runs (it stops early at the byte cap). */
const UPLOAD_POLL_MS = 100;
/** A full send buffer that reports no draining is tried again after this. */
const RETRY_MS = 20;

/**
 * One path under test (`udp`, `tcp` or `relay`): a WebRtcTransport on the check's router with SCTP
 * and two data channels. What the browser sends on `echo` comes straight back from the worker (a
 * DataConsumer of its own DataProducer on the same transport), so the round trip does not include
 * this process; `bulk` carries the bandwidth test, counted by the worker one way and pushed from
 * here the other way.
 */
export class CheckTransport {
  private uploaded = false;
  private downloaded = false;
  private readonly lifetime: NodeJS.Timeout;

  private constructor(
    readonly path: CheckPath,
    readonly transport: types.WebRtcTransport,
    readonly channels: CheckChannels,
    private readonly bulkIn: types.DataProducer,
    private readonly bulkOut: types.DataConsumer,
  ) {
    this.lifetime = setTimeout(() => this.close(), CHECK_LIMITS.transportLifetimeMs);
    this.lifetime.unref();
  }

  static async open(router: types.Router, host: PoolWorker, source: types.DataProducer, path: CheckPath): Promise<CheckTransport> {
    const transport = await router.createWebRtcTransport({
      webRtcServer: host.webRtcServer,
      // The relay path reaches the server from the TURN server, over whichever protocol that one uses.
      enableUdp: path !== 'tcp',
      enableTcp: path !== 'udp',
      preferUdp: path !== 'tcp',
      enableSctp: true,
      sctpSendBufferSize: CHECK_SCTP_SEND_BUFFER_BYTES,
      appData: { check: path },
    });
    try {
      const echoIn = await transport.produceData({ sctpStreamParameters: { streamId: ECHO_STREAM, ordered: true }, label: 'echo' });
      const echoOut = await transport.consumeData({ dataProducerId: echoIn.id });
      const bulkIn = await transport.produceData({ sctpStreamParameters: { streamId: BULK_STREAM, ordered: true }, label: 'bulk' });
      const bulkOut = await transport.consumeData({ dataProducerId: source.id, ordered: true });
      await bulkOut.setBufferedAmountLowThreshold(CHECK_LOW_WATER_BYTES);
      const channels: CheckChannels = {
        echo: { send: ECHO_STREAM, receive: streamOf(echoOut) },
        bulk: { send: BULK_STREAM, receive: streamOf(bulkOut) },
      };
      return new CheckTransport(path, transport, channels, bulkIn, bulkOut);
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  get closed(): boolean {
    return this.transport.closed;
  }

  close(): void {
    clearTimeout(this.lifetime);
    this.transport.close();
  }

  async connect(dtlsParameters: types.DtlsParameters): Promise<void> {
    await this.transport.connect({ dtlsParameters });
  }

  /** Counts what arrives on the bulk stream for the test's window, or until the byte cap. */
  async upload(): Promise<CheckTransfer> {
    this.ready('upload');
    this.uploaded = true;
    const started = performance.now();
    const before = await this.bytesIn();
    let bytes = 0;
    while (performance.now() - started < CHECK_LIMITS.bandwidthMs && bytes < CHECK_LIMITS.bandwidthBytes && !this.closed) {
      await sleep(UPLOAD_POLL_MS);
      // A transport closed meanwhile reads as 0: keep what was counted.
      bytes = Math.max(bytes, (await this.bytesIn()) - before);
    }
    const ms = performance.now() - started;
    // Whatever the browser still sends is not read any more.
    this.bulkIn.close();
    return { bytes, ms: Math.round(ms) };
  }

  /** Sends bulk messages as fast as the association takes them, for the test's window or up to the byte cap. */
  async download(): Promise<CheckTransfer> {
    this.ready('download');
    this.downloaded = true;
    const chunk = Buffer.alloc(CHECK_LIMITS.chunkBytes, 0x5a);
    const started = performance.now();
    let bytes = 0;
    while (performance.now() - started < CHECK_LIMITS.bandwidthMs && bytes + chunk.length <= CHECK_LIMITS.bandwidthBytes && !this.bulkOut.closed) {
      try {
        await this.bulkOut.send(chunk);
        bytes += chunk.length;
      } catch (error) {
        if (this.bulkOut.closed) break;
        if (!(error instanceof Error && error.message.includes('sctpsendbufferfull'))) throw error;
        await this.drained();
      }
    }
    return { bytes, ms: Math.round(performance.now() - started) };
  }

  private ready(what: 'upload' | 'download'): void {
    if (this.closed) throw new ConclaveError('NOT_FOUND', 'This check transport has closed');
    if (this.transport.sctpState !== 'connected') throw new ConclaveError('BAD_REQUEST', `${what}: the data channel is not connected yet`);
    if (what === 'upload' ? this.uploaded : this.downloaded) throw new ConclaveError('FORBIDDEN', `One ${what} test per check transport`);
  }

  private async bytesIn(): Promise<number> {
    if (this.bulkIn.closed) return 0;
    const [stats] = await this.bulkIn.getStats();
    return stats?.bytesReceived ?? 0;
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.bulkOut.off('bufferedamountlow', done);
        resolve();
      };
      const timer = setTimeout(done, RETRY_MS);
      this.bulkOut.once('bufferedamountlow', done);
    });
  }
}

function streamOf(consumer: types.DataConsumer): number {
  const streamId = consumer.sctpStreamParameters?.streamId;
  if (streamId === undefined) throw new Error('a check data consumer has no SCTP stream');
  return streamId;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
