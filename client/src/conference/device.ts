import { Device, detectDeviceAsync, type types } from 'mediasoup-client';
import { Chrome111 } from 'mediasoup-client/handlers/Chrome111';
import { Chrome74 } from 'mediasoup-client/handlers/Chrome74';
import { Firefox120 } from 'mediasoup-client/handlers/Firefox120';
import { Safari12 } from 'mediasoup-client/handlers/Safari12';

type Direction = 'sendonly' | 'recvonly';

/** mediasoup-client's own handlers for browsers (its Device picks from the same). */
const HANDLERS: Record<string, () => types.HandlerFactory> = {
  Chrome111: () => Chrome111.createFactory({}),
  Chrome74: () => Chrome74.createFactory({}),
  Firefox120: () => Firefox120.createFactory({}),
  Safari12: () => Safari12.createFactory({}),
};

/**
 * A mediasoup-client Device whose browser capabilities are already being read. `Device.load()`
 * asks the browser what it can send and receive (a throwaway peer connection and offer for each)
 * only once it has the router's capabilities, i.e. after the server's welcome; started here, while
 * the socket connects, that work is done by then. Any other browser gets mediasoup-client's own
 * choice, read at load as before.
 */
export async function prepareDevice(): Promise<Device> {
  const name = await detectDeviceAsync();
  const make = name === undefined ? undefined : HANDLERS[name];
  if (!make) return Device.factory();
  const handler = make();
  const native = new Map<Direction, Promise<types.RtpCapabilities>>();
  for (const direction of ['recvonly', 'sendonly'] as const) {
    const capabilities = handler.getNativeRtpCapabilities({ direction });
    // A failure is load()'s to report, when it asks; until then it is not unhandled.
    capabilities.catch(() => undefined);
    native.set(direction, capabilities);
  }
  return new Device({ handlerFactory: { ...handler, getNativeRtpCapabilities: ({ direction }) => native.get(direction)! } });
}
