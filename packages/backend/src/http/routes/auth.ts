// Sign-in and self-service: /api/auth/login (public), me, change-password,
// TOTP MFA enrolment and logout-everywhere. The self-service routes stay open
// to page-restricted accounts (a forced password change must work for
// everyone). A route that changes the caller's credentials revokes every
// session of the account, so it answers 200 with a fresh token for the
// caller (upstream answers 204 and keeps old sessions alive); clients store
// it in place of the one they sent.
import { toRfc3339 } from '@kanade/wire';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Throttled } from '../../services/accounts.js';
import type { Services } from '../../services/index.js';
import type { Session } from '../../services/sessions.js';
import { callerOf } from '../auth.js';
import { ApiError } from '../errors.js';
import { PUBLIC, selfService } from '../policy.js';
import { ErrorSchema, errorResponses } from './schemas.js';

const Secret = z.string().max(1024, 'at most 1024 characters');
const TotpCode = z.string().regex(/^\d{6}$/, 'expected the 6-digit code');

const LoginBody = z.object({
  username: z.string().min(1).max(256),
  password: Secret,
  code: TotpCode.optional(),
});

const LoginResponse = z.object({
  token: z.string(),
  role: z.enum(['viewer', 'operator', 'admin']),
  must_change_pw: z.boolean(),
  /** epoch seconds, as in the JWT */
  exp: z.number(),
  expires_at: z.string(),
});

const FreshSession = z
  .object({
    token: z.string(),
    /** epoch seconds, as in the JWT */
    exp: z.number(),
    expires_at: z.string(),
  })
  .meta({ id: 'FreshSession' });

const fresh = (s: Session) => ({ token: s.token, exp: s.exp, expires_at: toRfc3339(s.exp * 1000) });

const MeSchema = z
  .object({
    username: z.string(),
    role: z.enum(['viewer', 'operator', 'admin']),
    must_change_pw: z.boolean(),
    allowed_features: z.array(z.string()).nullable(),
    mfa_enabled: z.boolean(),
  })
  .meta({ id: 'Me' });

/** Run `fn`; a throttle refusal gets its Retry-After header before the 429 goes out. */
async function throttled<T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Throttled) reply.header('retry-after', String(err.retryAfter));
    throw err;
  }
}

/** Responses of a route that revokes the caller's other sessions. */
const renewed = { 200: FreshSession, ...errorResponses };

/** The account behind the request; the service token and auth-disabled identities have none. */
function accountName(identity: { sub: string; account: boolean } | undefined): string {
  if (!identity?.account) {
    throw new ApiError(
      'KANADE_ERR_BAD_REQUEST',
      'this identity is not an account (service token or auth disabled); sign in with a username',
    );
  }
  return identity.sub;
}

export const authRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const accounts = services.accounts;

  app.post(
    '/api/auth/login',
    {
      config: { policy: PUBLIC },
      schema: {
        summary:
          'Sign in with a username and password (and `code` when the account uses MFA); returns an HS256 JWT',
        body: LoginBody,
        response: { 200: LoginResponse, 400: ErrorSchema, 401: ErrorSchema, 429: ErrorSchema },
      },
    },
    async (req, reply) => {
      const r = await throttled(reply, () =>
        accounts.login({ ...req.body, ip: req.ip }, callerOf(req).source),
      );
      return { ...r, expires_at: toRfc3339(r.exp * 1000) };
    },
  );

  app.get(
    '/api/auth/me',
    {
      config: { policy: selfService() },
      schema: {
        summary: 'The caller: account, role, page allow-list',
        response: { 200: MeSchema, ...errorResponses },
      },
    },
    async (req) => {
      const id = req.identity!;
      const me = id.account ? accounts.me(id.sub) : undefined;
      return {
        username: id.sub,
        role: id.role,
        must_change_pw: me?.must_change_pw ?? false,
        allowed_features: id.allowedFeatures,
        mfa_enabled: me?.mfa_enabled ?? false,
      };
    },
  );

  app.post(
    '/api/auth/change-password',
    {
      config: { policy: selfService() },
      schema: {
        summary:
          'Change your own password (clears must_change_pw); ends every session of the account and returns a fresh token',
        body: z.object({ old_password: Secret, new_password: Secret }),
        response: { ...renewed, 429: ErrorSchema },
      },
    },
    async (req, reply) =>
      fresh(
        await throttled(reply, () =>
          accounts.changePassword(accountName(req.identity), { ...req.body, ip: req.ip }, callerOf(req)),
        ),
      ),
  );

  app.post(
    '/api/auth/logout-everywhere',
    {
      config: { policy: selfService() },
      schema: {
        summary: 'End every session of your account; returns a fresh token for this one',
        body: z.object({}).nullish(),
        response: renewed,
      },
    },
    async (req) => fresh(await accounts.logoutEverywhere(accountName(req.identity), callerOf(req))),
  );

  app.post(
    '/api/auth/mfa/init',
    {
      config: { policy: selfService() },
      schema: {
        summary:
          'Start TOTP enrolment: a pending secret and its otpauth:// URL (stored once /verify proves a code)',
        body: z.object({}).nullish(),
        response: {
          200: z.object({ secret: z.string(), otpauth_url: z.string() }),
          409: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => accounts.mfaInit(accountName(req.identity), callerOf(req)),
  );

  app.post(
    '/api/auth/mfa/verify',
    {
      config: { policy: selfService() },
      schema: {
        summary:
          'Finish TOTP enrolment with a current code from the authenticator; ends every session of the account and returns a fresh token',
        body: z.object({ code: TotpCode }),
        response: { ...renewed, 409: ErrorSchema },
      },
    },
    async (req) => fresh(await accounts.mfaVerify(accountName(req.identity), req.body.code, callerOf(req))),
  );

  app.post(
    '/api/auth/mfa/disable',
    {
      config: { policy: selfService() },
      schema: {
        summary:
          'Turn MFA off (requires your password); ends every session of the account and returns a fresh token',
        body: z.object({ password: Secret }),
        response: { ...renewed, 429: ErrorSchema },
      },
    },
    async (req, reply) =>
      fresh(
        await throttled(reply, () =>
          accounts.mfaDisable(accountName(req.identity), req.body.password, req.ip, callerOf(req)),
        ),
      ),
  );
};
