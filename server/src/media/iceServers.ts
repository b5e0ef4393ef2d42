import { createHmac } from 'node:crypto';
import type { IceServerInfo } from '../../../shared/protocol.js';
import type { Config } from '../config.js';

/**
 * ICE servers for one participant. TURN credentials follow coturn's use-auth-secret scheme:
 * username `<expiry>:<peer>`, password base64(HMAC-SHA1(secret, username)), so they expire on
 * their own and the secret never leaves the server.
 */
export function iceServersFor(config: Config, peerId: string, now = Date.now()): IceServerInfo[] {
  const servers: IceServerInfo[] = [];
  if (config.STUN_URLS.length > 0) servers.push({ urls: config.STUN_URLS });
  if (config.TURN_URLS.length > 0 && config.TURN_SECRET) {
    const expiry = Math.floor(now / 1000) + config.TURN_CREDENTIAL_TTL;
    const username = `${expiry}:${peerId}`;
    const credential = createHmac('sha1', config.TURN_SECRET).update(username).digest('base64');
    servers.push({ urls: config.TURN_URLS, username, credential });
  }
  return servers;
}
