// The error catalogue: every error the API returns has a stable code, an HTTP
// status and a message that says what was wrong or what to do. Unknown errors
// become a generic 500 whose detail only goes to the log. docs/errors.md is
// kept in step with this table by a test.

export const ERROR_CATALOGUE = {
  KANADE_ERR_BAD_REQUEST: {
    status: 400,
    summary: 'A parameter or the body is malformed; the message names it.',
  },
  KANADE_ERR_UNAUTHORIZED: {
    status: 401,
    summary: 'No valid credentials: send `Authorization: Bearer <token>` (see docs/configuration.md).',
  },
  KANADE_ERR_MFA_REQUIRED: {
    status: 401,
    summary: 'The password was right but the account uses MFA: repeat the login with the 6-digit `code`.',
  },
  KANADE_ERR_FORBIDDEN: {
    status: 403,
    summary: 'The caller is authenticated but lacks the role or page access.',
  },
  KANADE_ERR_NOT_FOUND: { status: 404, summary: 'The resource or route does not exist.' },
  KANADE_ERR_METHOD_NOT_ALLOWED: { status: 405, summary: 'The route exists but not for this HTTP method.' },
  KANADE_ERR_REQUEST_TIMEOUT: {
    status: 408,
    summary:
      'The agent did not answer within the wait (offline, or still running); try again or raise the wait.',
  },
  KANADE_ERR_CONFLICT: {
    status: 409,
    summary: 'The request conflicts with the current state; the message says which.',
  },
  KANADE_ERR_PRECONDITION_FAILED: {
    status: 412,
    summary: 'An `If-Match` precondition failed: the object changed since the caller read its ETag.',
  },
  KANADE_ERR_PAYLOAD_TOO_LARGE: { status: 413, summary: 'The body is larger than the route accepts.' },
  KANADE_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    summary: 'The Content-Type is not one the route accepts.',
  },
  KANADE_ERR_RANGE_NOT_SATISFIABLE: {
    status: 416,
    summary: 'The `Range` lies outside the object; `Content-Range: bytes */<size>` gives its size.',
  },
  KANADE_ERR_UNPROCESSABLE: {
    status: 422,
    summary: 'The body is well-formed but a value is not acceptable.',
  },
  KANADE_ERR_DIGEST_MISMATCH: {
    status: 422,
    summary: 'An upload does not have the SHA-256 its `X-Kanade-Sha256` header says; nothing was stored.',
  },
  KANADE_ERR_RATE_LIMITED: {
    status: 429,
    summary: 'Too many requests; retry after the `Retry-After` seconds.',
  },
  KANADE_ERR_INTERNAL: {
    status: 500,
    summary: 'An unexpected server error; details are in the backend log.',
  },
  KANADE_ERR_BROKER: { status: 502, summary: 'The NATS broker failed to answer the request.' },
  KANADE_ERR_UNAVAILABLE: {
    status: 503,
    summary: 'A dependency (broker, JetStream resource, PostgreSQL) is not available yet.',
  },
  KANADE_ERR_TIMEOUT: { status: 504, summary: 'An agent or the broker did not answer in time.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.statusCode = ERROR_CATALOGUE[code].status;
  }
}

export const badRequest = (message: string) => new ApiError('KANADE_ERR_BAD_REQUEST', message);
export const notFound = (message: string) => new ApiError('KANADE_ERR_NOT_FOUND', message);

/** The code for a status that came from Fastify itself (body parser, routing). */
export function codeForStatus(status: number): ErrorCode {
  for (const [code, e] of Object.entries(ERROR_CATALOGUE)) if (e.status === status) return code as ErrorCode;
  return status >= 500 ? 'KANADE_ERR_INTERNAL' : 'KANADE_ERR_BAD_REQUEST';
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}
