import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ConclaveError, ErrorCode } from '../../../shared/errors.js';
import type { Logger } from '../logger.js';
import { ClusterAuth } from './ClusterAuth.js';

/** Every internal route lives under this; the version lets two releases of the API coexist later. */
const BASE = '/cluster/v1/';
const MAX_BODY_BYTES = 64 * 1024;
/** A node that does not answer within this is treated as unreachable for that call. */
const CALL_TIMEOUT_MS = 3000;

/** Where another node's internal API is. */
export interface InternalAddress {
  ip: string;
  port: number;
}

const ErrorBody = z.object({ error: z.object({ code: z.enum(ErrorCode), message: z.string() }) });

/** Another node answered with an error, or could not be reached (`code` UNAVAILABLE). */
export class NodeCallError extends ConclaveError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number,
  ) {
    super(code, message);
    this.name = 'NodeCallError';
  }
}

type Handler = (body: unknown, from: string) => Promise<unknown>;

/**
 * The API nodes call on each other, on the internal address only (never the public port). Each
 * route has a name, a schema its body is checked against, and one handler; every request must be
 * signed with CLUSTER_SECRET (ClusterAuth), anything else gets 401 before its body is read further.
 */
export class InternalApi {
  private readonly routes = new Map<string, Handler>();
  private readonly server: http.Server;

  constructor(
    private readonly auth: ClusterAuth,
    private readonly log: Logger,
  ) {
    this.server = http.createServer((request, response) => void this.serve(request, response));
  }

  /** Registers `name` (POST /cluster/v1/<name>); the handler gets the checked body and the calling node's id. */
  handle<S extends z.ZodType>(name: string, schema: S, handler: (body: z.output<S>, from: string) => unknown): void {
    this.routes.set(name, (body, from) => Promise.resolve(handler(schema.parse(body), from)));
  }

  /** Listens on the internal address; resolves with the port (for port 0). */
  async listen(ip: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, ip, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const path = request.url ?? '';
    const body = await readBody(request).catch(() => undefined);
    if (body === undefined) return reply(response, 413, Buffer.from('{"error":"TOO_LARGE"}'));
    const signed = this.auth.verify(request.method ?? '', path, request.headers[ClusterAuth.header], body);
    if (!signed) {
      this.log.warn({ from: request.socket.remoteAddress, path }, 'internal API request without a valid CLUSTER_SECRET signature refused');
      return reply(response, 401, Buffer.from('{"error":"NOT_AUTHORIZED"}'));
    }
    const handler = request.method === 'POST' && path.startsWith(BASE) ? this.routes.get(path.slice(BASE.length)) : undefined;
    const answer = (status: number, value: unknown): void => reply(response, status, this.auth.seal(value, signed.signature));
    if (!handler) return answer(404, { error: { code: 'NOT_FOUND', message: `no internal route ${path}` } });
    try {
      answer(200, await handler(this.auth.open(body, 'request'), signed.node));
    } catch (error) {
      if (error instanceof z.ZodError) return answer(400, { error: { code: 'BAD_REQUEST', message: error.issues[0]?.message ?? 'bad request' } });
      if (error instanceof ConclaveError) return answer(statusOf(error.code), { error: { code: error.code, message: error.message } });
      this.log.error({ err: error, path, node: signed.node }, 'internal API handler failed');
      answer(500, { error: { code: 'INTERNAL', message: 'internal error' } });
    }
  }
}

/** Calls other nodes' internal APIs as `nodeId`. */
export class InternalClient {
  constructor(
    private readonly auth: ClusterAuth,
    private readonly nodeId: string,
    private readonly timeoutMs = CALL_TIMEOUT_MS,
  ) {}

  /** POSTs `body` to `name` on `to` and checks the answer against `schema`; throws NodeCallError. */
  async call<S extends z.ZodType>(to: InternalAddress, name: string, body: unknown, schema: S): Promise<z.output<S>> {
    const path = `${BASE}${name}`;
    const sealed = this.auth.seal(body, 'request');
    const { header, signature } = this.auth.sign('POST', path, this.nodeId, sealed);
    const headers = { 'content-type': 'application/octet-stream', [ClusterAuth.header]: header };
    const host = to.ip.includes(':') ? `[${to.ip}]` : to.ip;
    let response: Response;
    try {
      response = await fetch(`http://${host}:${to.port}${path}`, {
        method: 'POST',
        headers,
        body: new Uint8Array(sealed),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new NodeCallError('UNAVAILABLE', `node at ${host}:${to.port} unreachable: ${error instanceof Error ? error.message : String(error)}`, 0);
    }
    const bytes = Buffer.from(await response.arrayBuffer());
    if (response.status === 401) throw new NodeCallError('NOT_AUTHORIZED', 'the other node refused our signature: is CLUSTER_SECRET the same on both?', 401);
    if (response.status === 413) throw new NodeCallError('TOO_LARGE', 'request too large for the internal API', 413);
    const value = this.auth.open(bytes, signature);
    if (!response.ok) {
      const parsed = ErrorBody.safeParse(value);
      throw new NodeCallError(
        parsed.success ? parsed.data.error.code : 'INTERNAL',
        parsed.success ? parsed.data.error.message : 'unexpected answer',
        response.status,
      );
    }
    return schema.parse(value);
  }
}

function statusOf(code: ErrorCode): number {
  if (code === 'NOT_FOUND') return 404;
  if (code === 'BAD_REQUEST') return 400;
  if (code === 'UNAVAILABLE') return 503;
  return 409;
}

function reply(response: http.ServerResponse, status: number, body: Buffer): void {
  response.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  response.end(body);
}

async function readBody(request: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
