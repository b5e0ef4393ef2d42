import dgram from 'node:dgram';
import { parentPort } from 'node:worker_threads';
import { countPacket, isRtcp, sequenceOf, ssrcOf, type StreamCount } from './rtp.js';

/**
 * A counting sink in its own thread: one UDP socket that every consumer of a share of the
 * PlainTransports sends to. Per SSRC it counts packets and tracks the highest sequence number, so
 * gaps (loss) show; it answers 'snapshot' with [ssrc, received, highest, first] × n.
 */
const port = parentPort;
if (!port) throw new Error('receiverThread runs as a worker thread');

const counts = new Map<number, StreamCount>();
const socket = dgram.createSocket('udp4');
socket.on('message', (packet) => {
  if (packet.length < 12 || isRtcp(packet)) return;
  const ssrc = ssrcOf(packet);
  const count = counts.get(ssrc);
  const updated = countPacket(count, sequenceOf(packet));
  if (!count) counts.set(ssrc, updated);
});
socket.bind(0, '127.0.0.1', () => {
  socket.setRecvBufferSize(8 * 2 ** 20);
  port.postMessage({ type: 'ready', port: socket.address().port, recvBuffer: socket.getRecvBufferSize() });
});
port.on('message', (message: { type: 'snapshot' | 'close' }) => {
  if (message.type === 'close') {
    socket.close();
    port.close();
    return;
  }
  const flat = new Float64Array(counts.size * 4);
  let i = 0;
  for (const [ssrc, count] of counts) {
    flat.set([ssrc, count.received, count.highest, count.first], i);
    i += 4;
  }
  port.postMessage({ type: 'snapshot', flat }, [flat.buffer]);
});
