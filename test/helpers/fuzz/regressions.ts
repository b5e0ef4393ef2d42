import type { Expectation } from './judge.js';
import type { Rng } from './random.js';
import { rtpParameters, type FuzzerOptions, type Message, type Prepared } from './requests.js';

/** What a fuzzer lends the regression triggers: its place, and sending as it does. */
export interface RegressionDriver {
  readonly name: string;
  readonly room: string;
  readonly rng: Rng;
  readonly options: FuzzerOptions;
  where(): 'lobby' | 'joined';
  sendTransport(): string | undefined;
  prepare(message: Message): Prepared;
  send(prepared: Prepared): Promise<void>;
}

/**
 * Triggers, on purpose, each server bug this suite found (all fixed since), so they stay fixed:
 * validation that throws, a produce reusing an ssrc, a data channel reusing an SCTP stream id,
 * a join racing a leave, and a leave while consumers are being created.
 */
export async function sendRegressionTriggers(driver: RegressionDriver): Promise<void> {
  const rng = driver.rng;
  const trap = JSON.parse('{"roomId":{"length":{"toString":1,"valueOf":1}},"displayName":"trap"}') as unknown;
  await driver.send(driver.prepare({ event: 'join', args: [trap], ack: true, note: 'regression: validation throws' }));
  const sendTransport = driver.sendTransport();
  if (driver.where() === 'joined' && sendTransport !== undefined) {
    const ssrc = rng.int(1_000, 2 ** 31);
    for (const source of ['mic', 'camera'] as const) {
      const rtp = rtpParameters(rng, driver.options.participant.routerRtpCapabilities, source);
      rtp.encodings = [{ ssrc }];
      const payload = { transportId: sendTransport, kind: source === 'mic' ? 'audio' : 'video', rtpParameters: rtp, source };
      await driver.send(driver.prepare({ event: 'produce', args: [payload], ack: true, note: `regression: ${source} reusing ssrc ${ssrc}` }));
    }
    const streamId = rng.int(100, 999);
    for (const [label, reliability] of [
      ['board', { ordered: true }],
      ['fast', { ordered: false, maxRetransmits: 0 }],
    ] as const) {
      const payload = { transportId: sendTransport, label, sctpStreamParameters: { streamId, ...reliability } };
      await driver.send(
        driver.prepare({ event: 'produceData', args: [payload], ack: true, note: `regression: ${label} channel reusing SCTP stream ${streamId}` }),
      );
    }
  }
  if (driver.where() === 'lobby') {
    // join, leave, join without waiting: whatever the answers, only one place may remain, and it goes with the final leave.
    const join = (): Message => ({
      event: 'join',
      args: [{ roomId: driver.room, displayName: driver.name, rtpCapabilities: driver.options.participant.joinCapabilities() }],
      ack: true,
      note: 'regression: join racing a leave',
    });
    const racing: Expectation = { outcome: 'either', codes: ['ALREADY_JOINED', 'NOT_JOINED'], why: 'join racing a leave' };
    const raced = [join(), { event: 'leave', args: [{}], ack: true, note: 'regression: leave racing joins' }, join()].map((message) => ({
      message,
      changesPlace: true,
      expected: message.event === 'leave' ? ({ outcome: 'ok', why: 'leave always succeeds' } as const) : racing,
    }));
    await Promise.all(raced.map((prepared) => driver.send(prepared)));
    await driver.send(driver.prepare({ event: 'leave', args: [{}], ack: true, note: 'leave after the race' }));
    // Leaving the call's room right after joining it, while the server creates this fuzzer's consumers.
    for (let round = 0; round < 3; round++) {
      const payload = { roomId: driver.options.foreign.room, displayName: driver.name, rtpCapabilities: driver.options.participant.joinCapabilities() };
      await driver.send(driver.prepare({ event: 'join', args: [payload], ack: true, note: 'regression: join, then leave at once' }));
      await driver.send(driver.prepare({ event: 'leave', args: [{}], ack: true, note: 'regression: leave while consumers are being created' }));
    }
  }
}
