/**
 * Protocol fuzzing, by concern: seeded randomness (random), hostile values (hostile), what the
 * server receives of an emit (wire), mutations of valid requests (mutate), valid requests and the
 * messages a fuzzer sends (requests), the answers allowed and their check (judge), a fuzzer's view
 * of its connection (state), generating messages (generator), the driver (fuzzer), the server bugs
 * this suite found, triggered on purpose (regressions), and hand-written socket.io packets (raw).
 */
export { Fuzzer } from './fuzzer.js';
export { POLLUTION_MARKERS } from './hostile.js';
export { judge, type Expectation } from './judge.js';
export { fuzzSeed, Rng } from './random.js';
export { RAW_PACKETS, type RawPacket } from './raw.js';
export type { Exchange, ForeignIds, FuzzerOptions } from './requests.js';
