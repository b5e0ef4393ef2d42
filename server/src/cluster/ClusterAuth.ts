import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** A signed request older or newer than this is refused, so a captured one cannot be replayed later. */
export const MAX_CLOCK_SKEW_MS = 30_000;

const SIGNATURE_HEADER = 'x-conclave-signature';

/** What a verified request came with. */
export interface Signed {
  /** The sending node's id (covered by the signature). */
  node: string;
  /** The signature itself: the response is sealed against it, so it answers this request only. */
  signature: string;
}

/**
 * Nodes prove to each other that they hold CLUSTER_SECRET, and keep what they say private on a
 * network that may not be: each request carries an HMAC-SHA256 of its method, path, time, sender
 * and body (compared in constant time), and bodies both ways are sealed with AES-256-GCM (they
 * carry the media pipes' SRTP keys). Two keys are derived from the secret, one per use.
 */
export class ClusterAuth {
  /** The request header that carries the signature. */
  static readonly header = SIGNATURE_HEADER;
  private readonly macKey: Buffer;
  private readonly sealKey: Buffer;

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    const derive = (info: string): Buffer => Buffer.from(hkdfSync('sha256', secret, 'conclave-cluster', info, 32));
    this.macKey = derive('request-mac');
    this.sealKey = derive('body-seal');
  }

  /** The signature header for a request from `node`, and the signature alone (the answer is sealed against it). */
  sign(method: string, path: string, node: string, body: Buffer): { header: string; signature: string } {
    const time = this.now();
    const signature = this.mac(method, path, time, node, body);
    return { header: `t=${time},node=${node},sig=${signature}`, signature };
  }

  /** The request's sender when the header is present, fresh and signed with our secret; undefined otherwise. */
  verify(method: string, path: string, header: string | string[] | undefined, body: Buffer): Signed | undefined {
    if (typeof header !== 'string') return undefined;
    const match = /^t=(\d{1,16}),node=([A-Za-z0-9._-]{1,64}),sig=([0-9a-f]{64})$/.exec(header);
    if (!match) return undefined;
    const [, timeText = '', node = '', signature = ''] = match;
    const time = Number(timeText);
    if (Math.abs(this.now() - time) > MAX_CLOCK_SKEW_MS) return undefined;
    const expected = Buffer.from(this.mac(method, path, time, node, body), 'hex');
    const given = Buffer.from(signature, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected) ? { node, signature } : undefined;
  }

  /** Encrypts and authenticates `value` as JSON, bound to `context` (the request's signature, for answers). */
  seal(value: unknown, context: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, iv);
    cipher.setAAD(Buffer.from(context));
    const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), data]);
  }

  /** The JSON value `seal` made with the same context; throws when it was altered or sealed with another secret. */
  open(sealed: Buffer, context: string): unknown {
    if (sealed.length < 28) throw new Error('sealed body too short');
    const decipher = createDecipheriv('aes-256-gcm', this.sealKey, sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(sealed.subarray(12, 28));
    const text = Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as unknown;
  }

  private mac(method: string, path: string, time: number, node: string, body: Buffer): string {
    const digest = createHash('sha256').update(body).digest('hex');
    return createHmac('sha256', this.macKey).update(`${method}\n${path}\n${time}\n${node}\n${digest}`).digest('hex');
  }
}
