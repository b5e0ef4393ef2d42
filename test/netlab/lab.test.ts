import { execFile } from 'node:child_process';
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetLab, netlabUnavailable, type LabHost } from '../helpers/netlab.js';

/**
 * The lab itself (test/helpers/netlab.ts), before anything is measured through it: a host in its
 * namespace reaches the server's address and nothing else is needed; a cap slows the direction it
 * is put on and only that one; loss is an nftables table inside the namespace; and everything is
 * gone afterwards.
 */

const SKIP = netlabUnavailable();
if (SKIP) console.warn(`[netlab] skipped: ${SKIP}`);

const run = promisify(execFile);
const PAYLOAD = Buffer.alloc(400 * 1024, 7);

describe.skipIf(SKIP !== undefined)(`the network lab${SKIP ? ` — skipped: ${SKIP}` : ''}`, () => {
  let lab: NetLab | undefined;
  let host: LabHost;
  let server: http.Server | undefined;
  let url: string;
  let payloadFile: string;

  beforeAll(async () => {
    lab = await NetLab.create();
    host = await lab.addHost('probe');
    // Sends PAYLOAD on GET; reads and discards the body on POST.
    server = http.createServer((request, response) => {
      if (request.method === 'POST') request.on('data', () => undefined).on('end', () => response.end('ok'));
      else response.end(PAYLOAD);
    });
    await new Promise<void>((resolve) => server!.listen(0, lab!.gateway, resolve));
    url = `http://${lab.gateway}:${(server.address() as AddressInfo).port}/`;
    payloadFile = path.join(lab.workDir, 'payload');
    await writeFile(payloadFile, PAYLOAD);
  });

  afterAll(async () => {
    server?.close();
    await lab?.destroy();
  });

  /** Seconds a transfer of PAYLOAD takes from inside the host's namespace, each way. */
  async function transfer(): Promise<{ down: number; up: number }> {
    const curl = async (...args: string[]): Promise<number> => {
      const { stdout } = await run('ip', ['netns', 'exec', host.namespace, 'curl', '-sS', '-o', '/dev/null', '-m', '30', '-w', '%{time_total}', ...args, url]);
      return Number(stdout);
    };
    return { down: await curl(), up: await curl('-X', 'POST', '-H', 'Content-Type: application/octet-stream', '--data-binary', `@${payloadFile}`) };
  }

  it('a host reaches the gateway from its namespace, with its own address', async () => {
    const { stdout } = await run('ip', ['-n', host.namespace, '-4', '-o', 'addr', 'show', 'dev', host.inside]);
    expect(stdout).toContain(`${host.address}/24`);
    const { stdout: body } = await run('ip', ['netns', 'exec', host.namespace, 'curl', '-sS', '-m', '10', url]);
    expect(body.length).toBe(PAYLOAD.length);
  });

  it('a cap slows the direction it is put on, and lifting it restores the link', async () => {
    // 400 KiB at 1 Mbit/s: over 3 s; on a clean veth: a small fraction of that.
    await lab!.cap(host, 'down', 1000);
    const down = await transfer();
    await lab!.uncap(host);
    await lab!.cap(host, 'up', 1000);
    const up = await transfer();
    await lab!.uncap(host);
    const clean = await transfer();
    console.log(`[netlab] 400 KiB down/up in s: down capped ${down.down}/${down.up}, up capped ${up.down}/${up.up}, clean ${clean.down}/${clean.up}`);
    expect(down.down).toBeGreaterThan(2.5);
    expect(up.up).toBeGreaterThan(2.5);
    expect(down.up).toBeLessThan(2);
    expect(up.down).toBeLessThan(2);
    expect(clean.down).toBeLessThan(2);
    expect(clean.up).toBeLessThan(2);
  });

  it('loss is a table inside the namespace that drops UDP at random, and 0 removes it', async () => {
    await lab!.loss(host, 2.5, 'down');
    const { stdout: ruleset } = await run('ip', ['netns', 'exec', host.namespace, 'nft', 'list', 'table', 'inet', 'netlab']);
    expect(ruleset).toMatch(/hook input/);
    expect(ruleset).not.toMatch(/hook output/);
    expect(ruleset).toMatch(/udp numgen random mod 10000 < 250 drop/);
    await lab!.loss(host, 0);
    const { stdout: after } = await run('ip', ['netns', 'exec', host.namespace, 'nft', 'list', 'ruleset']);
    expect(after.trim()).toBe('');
  });

  it('destroying the lab leaves no namespace or interface of it behind', async () => {
    const { namespace, outside } = host;
    await lab!.destroy();
    const { stdout: namespaces } = await run('ip', ['netns', 'list']);
    const { stdout: links } = await run('ip', ['-o', 'link', 'show']);
    expect(namespaces).not.toContain(namespace);
    expect(links).not.toContain(`${outside}:`);
  });
});
