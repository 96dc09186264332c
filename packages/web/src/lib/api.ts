// The one way the SPA talks to the backend. It adds the bearer token and
// `X-Kanade-Source: spa` (audit payloads name the dashboard as the source),
// turns the API's `{code, message}` error bodies into ApiError, and on a 401
// forgets the token and fires `kanade:auth-expired` so the app can send the
// operator to /login and bring them back afterwards — unless the stored token
// changed while the request was out (a credential change revoked the one it
// carried and stored a fresh one: that 401 is stale, not an expiry). A plain GET first looks
// for the same request already started while the app was loading
// (lib/early.ts) and takes its response.
import { takeEarly } from './early.js';
import { authHeaders, getToken, setToken } from './token.js';

export { authHeaders, getToken, setToken, TOKEN_KEY } from './token.js';

export const AUTH_EXPIRED_EVENT = 'kanade:auth-expired';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface FetchOptions extends Omit<RequestInit, 'body'> {
  body?: unknown;
  /** Statuses whose body is still the answer (e.g. 503 from /api/health/fleet when degraded). */
  accept?: number[];
  /** For the login form itself: a 401 is an answer, not an expired session. */
  anonymous?: boolean;
  /** Use this token instead of the stored one (checking a pasted token). */
  token?: string;
}

async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { code?: string; message?: string };
    if (body && typeof body.message === 'string') {
      return new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message);
    }
  } catch {
    // not JSON: fall through to the text
  }
  return new ApiError(
    res.status,
    `HTTP_${res.status}`,
    text.trim() || res.statusText || `HTTP ${res.status}`,
  );
}

export async function apiFetch(path: string, opts: FetchOptions = {}): Promise<Response> {
  const { body, accept = [], anonymous, token, ...init } = opts;
  const headers = new Headers(init.headers);
  const sent = anonymous ? null : (token ?? getToken());
  for (const [k, v] of Object.entries(authHeaders(sent))) {
    headers.set(k, v);
  }
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    if (typeof body === 'string') {
      payload = body;
      if (!headers.has('content-type')) headers.set('content-type', 'text/plain');
    } else {
      payload = JSON.stringify(body);
      headers.set('content-type', 'application/json');
    }
  }
  const early =
    (init.method ?? 'GET') === 'GET' && body === undefined && !anonymous && token === undefined
      ? takeEarly(path)
      : undefined;
  let res: Response;
  try {
    res = await (early ?? fetch(path, { ...init, headers, body: payload }));
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `backend unreachable: ${(err as Error).message}`);
  }
  if (res.ok || accept.includes(res.status)) return res;
  const err = await errorFrom(res);
  if (res.status === 401 && !anonymous && !token && getToken() === sent) {
    setToken(null);
    window.dispatchEvent(new Event(AUTH_EXPIRED_EVENT));
  }
  throw err;
}

export async function apiJson<T>(path: string, opts: FetchOptions = {}): Promise<T> {
  const res = await apiFetch(path, opts);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export interface Page<T> {
  rows: T[];
  /** From X-Total-Count; the row count when the header is absent. */
  total: number;
  headers: Headers;
}

/** A paged list: the body is the rows, totals come in X-Total-Count (and friends). */
export async function apiPage<T>(path: string, opts: FetchOptions = {}): Promise<Page<T>> {
  const res = await apiFetch(path, opts);
  const rows = (await res.json()) as T[];
  const total = Number(res.headers.get('x-total-count') ?? rows.length);
  return { rows, total: Number.isFinite(total) ? total : rows.length, headers: res.headers };
}

/** Query string from an object, dropping empty values. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}
