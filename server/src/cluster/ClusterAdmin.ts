import http from 'node:http';
import https from 'node:https';
import { z } from 'zod';

/** Marks an admin call another node passed on: it is answered by this node alone, never passed on again. */
export const FORWARDED_HEADER = 'x-conclave-forwarded';

/** An admin API call as one node passes it to another: the path below the API's base, and the JSON body. */
export const AdminCall = z.object({
  method: z.enum(['GET', 'POST', 'DELETE']),
  path: z.string().startsWith('/').max(2048),
  body: z.unknown().optional(),
});
export type AdminCall = z.infer<typeof AdminCall>;

export const AdminAnswer = z.object({ status: z.number().int(), body: z.unknown() });
export type AdminAnswer = z.infer<typeof AdminAnswer>;

/** Runs an admin call on this node alone. */
export type LocalAdmin = (call: AdminCall) => Promise<AdminAnswer>;

/**
 * This node's own admin API, called over loopback with its own key: a call another node passed on
 * goes through exactly the checks, validation and answers a direct call gets. `origin` is where
 * this process listens (https with this node's certificate, which does not name 127.0.0.1, hence
 * no verification on this one local hop).
 */
export function loopbackAdmin(origin: () => string, basePath: string, apiKey: string): LocalAdmin {
  return (call) =>
    new Promise((resolve, reject) => {
      const url = new URL(`${basePath}${call.path}`, origin());
      const body = call.body === undefined || call.method === 'GET' ? undefined : JSON.stringify(call.body);
      const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${apiKey}`, [FORWARDED_HEADER]: '1', accept: 'application/json' };
      if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      const options = { method: call.method, headers, timeout: 10_000 };
      const request = url.protocol === 'https:' ? https.request(url, { ...options, rejectUnauthorized: false }, collect) : http.request(url, options, collect);
      function collect(response: http.IncomingMessage): void {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          try {
            resolve({ status: response.statusCode ?? 500, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      }
      request.on('timeout', () => request.destroy(new Error('the admin API did not answer on loopback')));
      request.on('error', reject);
      request.end(body);
    });
}
