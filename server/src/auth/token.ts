import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { DisplayName, RoomId } from '../../../shared/identity.js';

/**
 * Join tokens: compact JWTs signed with HS256 (RFC 7519). Small enough to write here rather than
 * pull in a JOSE library, and strict: only HS256, `exp` required, room and name bound.
 */

export const TokenClaims = z.object({
  room: RoomId,
  name: DisplayName,
  exp: z.number().int().positive(),
  iat: z.number().int().positive().optional(),
  role: z.enum(['participant', 'moderator']).optional(),
});
export type TokenClaims = z.infer<typeof TokenClaims>;

const Header = z.object({ alg: z.literal('HS256'), typ: z.literal('JWT').optional() });

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function signature(secret: string, signingInput: string): Buffer {
  return createHmac('sha256', secret).update(signingInput).digest();
}

export function signToken(secret: string, claims: Omit<TokenClaims, 'iat' | 'exp'>, ttlSeconds: number, now = Date.now()): string {
  const iat = Math.floor(now / 1000);
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ ...claims, iat, exp: iat + ttlSeconds })}`;
  return `${body}.${signature(secret, body).toString('base64url')}`;
}

export class TokenError extends Error {
  override name = 'TokenError';
}

/** The token's claims if it is well-formed, signed with `secret` and not expired; TokenError otherwise. */
export function verifyToken(secret: string, token: string, now = Date.now()): TokenClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('Malformed token');
  const [header, payload, given] = parts as [string, string, string];
  const expected = signature(secret, `${header}.${payload}`);
  const actual = Buffer.from(given, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw new TokenError('Bad token signature');
  const parsedHeader = Header.safeParse(parseJson(header));
  if (!parsedHeader.success) throw new TokenError('Unsupported token algorithm (HS256 only)');
  const claims = TokenClaims.safeParse(parseJson(payload));
  if (!claims.success) throw new TokenError(`Token claims invalid: ${claims.error.issues[0]?.message ?? 'invalid'}`);
  if (claims.data.exp * 1000 <= now) throw new TokenError('Token expired');
  return claims.data;
}

function parseJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new TokenError('Malformed token');
  }
}

/** "90s", "15m", "1h", "7d" or plain seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) throw new Error(`Invalid duration "${text}" (use e.g. 90s, 15m, 1h, 7d)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
