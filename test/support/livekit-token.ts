/**
 * Test equipment: LiveKit access tokens are HS256 JWTs signed with the API secret, issued by the
 * API key. Signed and checked here with node:crypto, so the local server depends on no JWT library.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface LiveKitClaims {
  iss?: string;
  sub?: string;
  name?: string;
  kind?: string;
  exp?: number;
  nbf?: number;
  video?: Record<string, unknown>;
  [claim: string]: unknown;
}

export class TokenError extends Error {
  override name = 'TokenError';
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

function signature(headerAndPayload: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(headerAndPayload).digest();
}

export function signToken(claims: LiveKitClaims, secret: string, ttlSeconds = 3600): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ nbf: now, exp: now + ttlSeconds, ...claims }));
  return `${header}.${payload}.${signature(`${header}.${payload}`, secret).toString('base64url')}`;
}

function decodePart(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (value && typeof value === 'object') return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new TokenError('malformed token');
}

/** The claims of a valid token; a `TokenError` naming the first thing wrong otherwise. */
export function verifyToken(
  token: string,
  {
    apiKey,
    apiSecret,
    leewaySeconds = 10,
  }: { apiKey: string; apiSecret: string; leewaySeconds?: number },
): LiveKitClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('malformed token');
  const [header, payload, sig] = parts as [string, string, string];
  if (decodePart(header).alg !== 'HS256') throw new TokenError('unsupported algorithm');
  const expected = signature(`${header}.${payload}`, apiSecret);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new TokenError('invalid signature');
  }
  const claims = decodePart(payload) as LiveKitClaims;
  const now = Date.now() / 1000;
  if (claims.iss !== apiKey) throw new TokenError('unknown API key');
  // LiveKit requires an expiry: a token without one would be valid forever.
  if (typeof claims.exp !== 'number') throw new TokenError('token has no expiry');
  if (claims.exp + leewaySeconds < now) throw new TokenError('token expired');
  if (typeof claims.nbf === 'number' && claims.nbf - leewaySeconds > now) {
    throw new TokenError('token not yet valid');
  }
  return claims;
}
