export * from './errors.js';
export * from './identity.js';
export * from './rtp.js';
export * from './protocol.js';
export * from './TypedEmitter.js';
