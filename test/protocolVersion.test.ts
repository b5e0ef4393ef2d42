import { describe, expect, it } from 'vitest';
import { protocolMismatch } from '../client/src/conference/protocolVersion.js';
import { PROTOCOL_VERSION } from '../shared/protocol.js';

describe('the page checks the server’s protocol version', () => {
  it('lets the same version through', () => {
    expect(protocolMismatch(PROTOCOL_VERSION)).toBeNull();
  });

  it('tells a page older than the server to reload, naming both versions', () => {
    expect(protocolMismatch(2, 1)).toBe('This page is out of date for the server (protocol 1, server 2): reload the page.');
  });

  it('tells a page newer than the server to reload too', () => {
    expect(protocolMismatch(1, 2)).toBe('This page is newer than the server (protocol 2, server 1): reload the page.');
  });
});
