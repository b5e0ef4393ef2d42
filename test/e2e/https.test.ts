import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH, openParticipant } from '../helpers/browser.js';
import { CLIENT_DIST, useServer } from '../helpers/server.js';
import { selfSignedCertificate, type CertificateFiles } from '../helpers/tls.js';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** GET over https, trusting this one self-signed certificate's server for this request only. */
function getInsecure(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { rejectUnauthorized: false }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/**
 * HTTPS from the server itself (TLS_CERT / TLS_KEY), as on a VM without a reverse proxy: browsers
 * give camera access on https at any address, not only on localhost.
 */
describe('the server on https', () => {
  let tls: CertificateFiles;
  const server = useServer(() => {
    tls = selfSignedCertificate();
    return { CLIENT_DIST, TLS_CERT: tls.cert, TLS_KEY: tls.key };
  });
  let browser: Browser;

  beforeAll(async () => {
    // The certificate is self-signed; a real one would be trusted without this flag.
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, '--ignore-certificate-errors'], headless: true });
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(tls.dir, { recursive: true, force: true });
  });

  it('answers /healthz over https, and plain http on that port gets nothing', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { status, body } = await getInsecure(`${server.url}/healthz`);
    expect(status).toBe(200);
    expect(JSON.parse(body)).toMatchObject({ status: 'ok' });
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
  });

  it("the Docker image's health check speaks https when TLS_CERT is set", async () => {
    const healthcheck = path.join(root, 'docker/healthcheck.mjs');
    const env = { ...process.env, PORT: String(server.port), HTTP_HOST: '127.0.0.1', TLS_CERT: tls.cert };
    await expect(run(process.execPath, [healthcheck], { env })).resolves.toBeDefined();
    await expect(run(process.execPath, [healthcheck], { env: { ...env, TLS_CERT: '' } })).rejects.toMatchObject({ code: 1 });
  });

  it('a browser opening the https address (not localhost) has a secure context, joins and sends its camera', async () => {
    const ana = await openParticipant(browser, server.url, 'over-https', 'Ana');
    try {
      expect(await ana.page.evaluate(() => window.isSecureContext)).toBe(true);
      await expect
        .poll(async () => (await ana.stats()).producers.find((producer) => producer.source === 'camera')?.framesEncoded ?? 0, { timeout: 15_000 })
        .toBeGreaterThan(10);
      expect((await ana.stats()).transports.find((transport) => transport.direction === 'send')?.state).toBe('connected');
    } finally {
      await ana.close();
    }
  });
});
