import type { Expectation } from './judge.js';

export interface RawPacket {
  /** A socket.io packet, as written after engine.io's message type. */
  packet: string;
  /** For a well-formed request, the acknowledgement id it asks for and what the answer must be. */
  answer?: { id: number; expected: Expectation };
}

const refused: Expectation = { outcome: 'error', codes: ['BAD_REQUEST'], why: 'invalid request in a raw packet' };

/**
 * Malformed and odd socket.io packets, each for a fresh connection in the lobby. Acknowledgement ids
 * start at 900 so that they cannot be confused with the client's own (which start at 0).
 */
export const RAW_PACKETS: readonly RawPacket[] = [
  { packet: '2["join"' },
  { packet: '2' },
  { packet: '2[]' },
  { packet: '2{}' },
  { packet: '2"join"' },
  { packet: '2[null,{}]' },
  { packet: '2[{"__proto__":{"polluted":"event name"}}]' },
  { packet: '2["disconnect","client namespace disconnect"]' },
  { packet: '2["disconnecting"]' },
  { packet: '2["connect"]' },
  { packet: '2["newListener","join"]' },
  { packet: '2["removeListener","join"]' },
  { packet: '2[1e400,{}]' },
  { packet: '2900["leave",{}]', answer: { id: 900, expected: { outcome: 'ok', why: 'leave from the lobby' } } },
  { packet: '2901["join",' + '['.repeat(5_000) + ']'.repeat(5_000) + ']', answer: { id: 901, expected: refused } },
  { packet: '2902["join",{"roomId":' + '{"a":'.repeat(2_000) + '1' + '}'.repeat(2_000) + '}]', answer: { id: 902, expected: refused } },
  { packet: '2903["' + 'j'.repeat(150_000) + '"]', answer: { id: 903, expected: { outcome: 'error', codes: ['BAD_REQUEST'], why: 'unknown event' } } },
  { packet: '2904["join",{"__proto__":{"roomId":"r","displayName":"n","rtpCapabilities":{}}}]', answer: { id: 904, expected: refused } },
  { packet: '2999999999999999999999999["leave",{}]' },
  { packet: '2-1["leave"]' },
  { packet: '50-["join",{"_placeholder":true,"num":0}]' },
  { packet: '51-["join",{"_placeholder":true,"num":7}]' },
  { packet: '51-905["join",{"_placeholder":"yes","num":"0"}]' },
  { packet: '5-["join"]' },
  { packet: '3["answer to nothing"]' },
  { packet: '3907[{"ok":true}]' },
  { packet: '0' },
  { packet: '0/admin,' },
  { packet: '0{"token":"x"}' },
  { packet: '1' },
  { packet: '4"connect error from a client"' },
  { packet: '6' },
  { packet: '9' },
  { packet: '' },
  { packet: '\u0000' },
  { packet: '2/,["join"]' },
  { packet: '2/../,["join"]' },
];
