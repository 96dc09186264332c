// Login sessions as HS256 JWTs with `aud=kanade`, as upstream mints them:
// `{sub, roles, aud, iat, exp}`, plus `iat_ms`, the issue time in epoch
// milliseconds (JWT times are whole seconds). A token proves only who signed in and until
// when; the role, the disabled flag and the page allow-list are re-read from
// the users table on every request (http/auth.ts), so a token never carries
// authority the database has since withdrawn. Verification accepts HS256
// only (no `none`, no algorithm confusion) and requires `sub` and `exp`; it
// hands back the issue time too, which the auth layer compares with the
// account's sessions_valid_after to refuse tokens minted before a credential
// change: to the millisecond, so that a token minted in the same second just
// before the change does not survive it.
import { randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Role } from '../store/users.js';

export const JWT_AUDIENCE = 'kanade';
/** Clock skew tolerated between the backend replicas that verify a token. */
const CLOCK_TOLERANCE_S = 30;

export interface Session {
  token: string;
  /** epoch seconds, as in the JWT */
  exp: number;
}

export class InvalidToken extends Error {}

export interface VerifiedToken {
  sub: string;
  /** epoch seconds, as in the JWT; 0 when the token has no `iat` (older than any revocation) */
  iat: number;
  /** epoch ms from `iat_ms`; undefined in a token minted before that claim existed (compare `iat` then) */
  iatMs: number | undefined;
}

/** The `iat_ms` claim, when it is an integer within the token's `iat` second (it always is in ours). */
function issuedAtMs(payload: { iat?: unknown; iat_ms?: unknown }): number | undefined {
  const ms = payload.iat_ms;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms)) return undefined;
  return Math.floor(ms / 1000) === payload.iat ? ms : undefined;
}

function reasonOf(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `claim ${err.claim} rejected`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  return 'malformed token';
}

/**
 * `secret` is KANADE_JWT_SECRET or the generated <data dir>/jwt-secret
 * (server.ts). Without one (services built by tools and tests) a random
 * per-process key is used, so tokens simply do not outlive the process.
 */
export function createSessionService(secret: string | undefined, now: () => number = Date.now) {
  const key = secret ? new TextEncoder().encode(secret) : randomBytes(32);
  return {
    async mint(username: string, role: Role, ttlHours: number): Promise<Session> {
      const iatMs = now();
      const iat = Math.floor(iatMs / 1000);
      const exp = iat + Math.round(ttlHours * 3600);
      const token = await new SignJWT({ roles: [role], iat_ms: iatMs })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(username)
        .setAudience(JWT_AUDIENCE)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(key);
      return { token, exp };
    },
    /** The token's subject and issue time; throws InvalidToken with a short reason. */
    async verify(token: string): Promise<VerifiedToken> {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          audience: JWT_AUDIENCE,
          requiredClaims: ['sub', 'exp'],
          clockTolerance: CLOCK_TOLERANCE_S,
          currentDate: new Date(now()),
        });
        if (typeof payload.sub !== 'string' || payload.sub === '')
          throw new InvalidToken('claim sub rejected');
        const iat = typeof payload.iat === 'number' ? payload.iat : 0;
        return { sub: payload.sub, iat, iatMs: issuedAtMs(payload) };
      } catch (err) {
        if (err instanceof InvalidToken) throw err;
        throw new InvalidToken(reasonOf(err));
      }
    },
  };
}
export type SessionService = ReturnType<typeof createSessionService>;
