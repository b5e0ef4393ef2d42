import os from 'node:os';

type Interfaces = ReturnType<typeof os.networkInterfaces>;

/**
 * This machine's own LAN address: the first IPv4 address the system lists that is neither loopback
 * nor link-local (169.254/16 only exists when a network gave no address). Physical interfaces come
 * before the bridges and tunnels that containers and VPNs add, so this is usually the one the LAN
 * knows the machine by.
 */
export function lanAddress(interfaces: Interfaces = os.networkInterfaces()): string | undefined {
  return Object.values(interfaces)
    .flatMap((entries) => entries ?? [])
    .find((entry) => entry.family === 'IPv4' && !entry.internal && !entry.address.startsWith('169.254.'))?.address;
}

/**
 * The addresses media listens on besides LISTEN_IP: with MEDIA_ON_LAN, the LAN address (announced
 * as itself), so a browser that refuses loopback candidates (Firefox) has one it can use.
 */
export function alsoListenOn(config: { LISTEN_IP: string; MEDIA_ON_LAN: boolean }, interfaces?: Interfaces): string[] {
  const lan = config.MEDIA_ON_LAN ? lanAddress(interfaces) : undefined;
  return lan === undefined || lan === config.LISTEN_IP ? [] : [lan];
}
