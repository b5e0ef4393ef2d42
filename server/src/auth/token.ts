import { createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import { z } from 'zod';
import { DisplayName, firstIssue, RoomId } from '../../../shared/identity.js';
import { Role } from '../../../shared/roles.js';
import type { Config } from '../config.js';

/**
 * Join tokens: compact JWTs (RFC 7519), verified with jose. A server takes any of three keys, several
 * at once: AUTH_SECRET (HS256, what `npm run token` signs with), AUTH_PUBLIC_KEY (one ES256 or Ed25519
 * public key of a login service) and AUTH_JWKS_FILE (a key set; the token's `kid` picks the key). A
 * token only meets the keys made for its `alg`, so an HS256 token is never checked against a public
 * key, and `none` against nothing. See docs/tokens.md.
 */

const NumericDate = z.number().int().positive();

export const TokenClaims = z.object({
  room: RoomId,
  name: DisplayName,
  role: Role.optional(),
  /** The room asks newcomers to wait in the lobby when this person is the one who opens it. */
  lobby: z.boolean().optional(),
  exp: NumericDate,
  nbf: NumericDate.optional(),
  iat: NumericDate.optional(),
  jti: z.string().max(256).optional(),
  sub: z.string().max(256).optional(),
});
export type TokenClaims = z.infer<typeof TokenClaims>;

/** Clocks of login services and this server disagree a little; exp and nbf allow this much. */
export const CLOCK_TOLERANCE_SECONDS = 30;

export class TokenError extends Error {
  override name = 'TokenError';
}

export interface JoinTokenVerifier {
  /** The token's claims if it is well-formed, signed by a configured key and valid now; TokenError otherwise. */
  verify(token: string): Promise<TokenClaims>;
}

/** HS256 with the shared secret, for `npm run token`, the load-test tool and the admin API. */
export async function signToken(
  secret: string,
  claims: Pick<TokenClaims, 'room' | 'name' | 'role' | 'lobby'>,
  ttlSeconds: number,
  now = Date.now(),
): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .setJti(randomUUID())
    .sign(new TextEncoder().encode(secret));
}

type AuthKeys = Pick<Config, 'AUTH_SECRET' | 'AUTH_PUBLIC_KEY' | 'AUTH_JWKS_FILE'>;

/** One configured key: the algorithms it verifies and how. */
interface Verification {
  algorithms: readonly string[];
  verify(token: string): Promise<JWTPayload>;
}

const verifiers = new WeakMap<AuthKeys, JoinTokenVerifier | undefined>();

/** The verifier for the configured keys (parsed once per config), or undefined when rooms are open. */
export function tokenVerifierFor(config: AuthKeys): JoinTokenVerifier | undefined {
  if (verifiers.has(config)) return verifiers.get(config);
  const verifier = createVerifier(config);
  verifiers.set(config, verifier);
  return verifier;
}

function createVerifier({ AUTH_SECRET, AUTH_PUBLIC_KEY, AUTH_JWKS_FILE }: AuthKeys): JoinTokenVerifier | undefined {
  const keys: Verification[] = [];
  if (AUTH_SECRET) {
    const secret = new TextEncoder().encode(AUTH_SECRET);
    keys.push(verification(['HS256'], (token, options) => jwtVerify(token, secret, options)));
  }
  if (AUTH_PUBLIC_KEY) {
    const { key, algorithms } = readPublicKey(AUTH_PUBLIC_KEY);
    keys.push(verification(algorithms, (token, options) => jwtVerify(token, key, options)));
  }
  if (AUTH_JWKS_FILE) {
    const keySet = createLocalJWKSet(readKeySet(AUTH_JWKS_FILE));
    keys.push(
      verification(
        KEY_TYPES.flatMap((type) => type.algorithms),
        (token, options) => jwtVerify(token, keySet, options),
      ),
    );
  }
  if (keys.length === 0) return undefined;
  const accepted = [...new Set(keys.flatMap((key) => key.algorithms))].join(', ');

  return {
    async verify(token) {
      const alg = algorithmOf(token);
      const candidates = keys.filter((key) => key.algorithms.includes(alg));
      if (candidates.length === 0) throw new TokenError(`Token signature algorithm ${JSON.stringify(alg)} is not accepted here (${accepted})`);
      let failure: unknown;
      for (const candidate of candidates) {
        try {
          return claimsOf(await candidate.verify(token));
        } catch (error) {
          failure = error;
          // Another key for the same algorithm may still verify it; an expired token stays expired.
          if (!isCode(error, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'ERR_JWKS_NO_MATCHING_KEY')) break;
        }
      }
      throw tokenError(failure);
    },
  };
}

type VerifyOptions = Parameters<typeof jwtVerify>[2];

function verification(algorithms: readonly string[], verify: (token: string, options: VerifyOptions) => Promise<{ payload: JWTPayload }>): Verification {
  const options: VerifyOptions = { algorithms: [...algorithms], clockTolerance: CLOCK_TOLERANCE_SECONDS, requiredClaims: ['exp'] };
  return { algorithms, verify: async (token) => (await verify(token, options)).payload };
}

function algorithmOf(token: string): string {
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new TokenError('Malformed token');
  }
  if (typeof header.alg !== 'string') throw new TokenError('Malformed token: no signature algorithm');
  return header.alg;
}

function claimsOf(payload: JWTPayload): TokenClaims {
  const claims = TokenClaims.safeParse(payload);
  if (!claims.success) throw new TokenError(`Token claims invalid: ${firstIssue(claims.error)}`);
  return claims.data;
}

function isCode(error: unknown, ...codes: string[]): error is errors.JOSEError {
  return error instanceof errors.JOSEError && codes.includes(error.code);
}

/** What the participant is told about a token jose refused. */
function tokenError(error: unknown): Error {
  if (error instanceof TokenError || !(error instanceof errors.JOSEError)) return error instanceof Error ? error : new Error(String(error));
  if (error instanceof errors.JWTExpired) return new TokenError('Token expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' && error.reason === 'check_failed') return new TokenError('Token not yet valid (nbf is in the future)');
    return new TokenError(`Token claims invalid: ${error.message}`);
  }
  switch (error.code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new TokenError('Bad token signature');
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new TokenError("Bad token signature: no key of the server's key set matches its kid and algorithm");
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new TokenError('Token has no kid, and several keys of the server could have signed it');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new TokenError('Token signature algorithm not accepted here');
    default:
      return new TokenError('Malformed token');
  }
}

/** The asymmetric keys we take, and the JWS algorithms each verifies. */
const KEY_TYPES = [
  { kty: 'EC', crv: 'P-256', nodeType: 'ec', nodeCurve: 'prime256v1', algorithms: ['ES256'] },
  { kty: 'OKP', crv: 'Ed25519', nodeType: 'ed25519', nodeCurve: undefined, algorithms: ['EdDSA', 'Ed25519'] },
] as const;

function algorithmsFor(key: KeyObject): readonly string[] {
  const type = KEY_TYPES.find((candidate) => candidate.nodeType === key.asymmetricKeyType && candidate.nodeCurve === key.asymmetricKeyDetails?.namedCurve);
  if (!type) {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    throw new Error(`${key.asymmetricKeyType ?? 'unknown'}${curve ? ` ${curve}` : ''} key: only EC P-256 (ES256) and Ed25519 (EdDSA) keys are accepted`);
  }
  return type.algorithms;
}

/**
 * AUTH_PUBLIC_KEY: PEM text (newlines may be written `\n`, as in one-line environment values) or the
 * path of a PEM file, holding an SPKI public key. Throws a one-line reason otherwise.
 */
export function readPublicKey(value: string): { key: KeyObject; algorithms: readonly string[] } {
  const pem = value.includes('-----BEGIN') ? value.replaceAll('\\n', '\n') : readText(value, 'neither PEM text nor a readable PEM file');
  // Node would derive a public key from a private one; a signing key does not belong on this server.
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) throw new Error('not a PEM public key (-----BEGIN PUBLIC KEY-----)');
  let key;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new Error(`not a valid PEM public key (${oneLine(error)})`, { cause: error });
  }
  return { key, algorithms: algorithmsFor(key) };
}

const KeySetShape = z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional() })).min(1, 'has no keys') });

/**
 * AUTH_JWKS_FILE: a JSON Web Key Set with at least one EC P-256 or Ed25519 public key; keys of other
 * types are left out (their algorithms are not accepted anyway). Throws a one-line reason otherwise.
 */
export function readKeySet(file: string): JSONWebKeySet {
  const text = readText(file, 'no such file, or not readable by this user');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON (${oneLine(error)})`, { cause: error });
  }
  const shape = KeySetShape.safeParse(json);
  if (!shape.success) throw new Error(`not a JSON Web Key Set ({"keys": [...]}): ${firstIssue(shape.error)}`);
  const usable = [];
  for (const [index, jwk] of shape.data.keys.entries()) {
    if (!KEY_TYPES.some((type) => type.kty === jwk.kty && type.crv === jwk['crv'])) continue;
    const which = jwk.kid === undefined ? `key ${index + 1}` : `key ${JSON.stringify(jwk.kid)}`;
    if ('d' in jwk) throw new Error(`${which} is a private key: publish only public keys`);
    try {
      createPublicKey({ key: jwk, format: 'jwk' });
    } catch (error) {
      throw new Error(`${which} is not a valid key (${oneLine(error)})`, { cause: error });
    }
    usable.push(jwk);
  }
  if (usable.length === 0) throw new Error('no EC P-256 (ES256) or Ed25519 (EdDSA) key in the set');
  return { keys: usable };
}

function readText(file: string, problem: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new Error(problem);
  }
}

const oneLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';

/** "90s", "15m", "1h", "7d" or plain seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) throw new Error(`Invalid duration "${text}" (use e.g. 90s, 15m, 1h, 7d)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
