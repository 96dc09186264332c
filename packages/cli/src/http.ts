// The CLI talks to the backend over HTTP only: KANADE_BACKEND_URL (or
// --backend-url) with a bearer token, `X-Kanade-Source: cli` so the audit
// trail shows where an action came from, JSON in and out. Every failure
// becomes a CliError with the exit code of its status and a hint.
//
// Uploads use node:http directly rather than fetch: the file is streamed
// with a known Content-Length (and counted for the progress bar), and an
// early answer (a 409 or 413 sent before the body was read) is still read
// and reported even though the server stops reading the upload.
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Transform } from 'node:stream';
import { CliError, EXIT, exitForStatus, hintFor } from './errors.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  data: T;
}

export interface RequestOptions {
  query?: Query;
  json?: unknown;
  /** A raw text body with its content type (YAML manifests). */
  text?: { type: string; body: string };
  headers?: Record<string, string>;
}

function urlOf(base: string, path: string, query?: Query): URL {
  const u = new URL(path, base.endsWith('/') ? base : `${base}/`);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
  return u;
}

function errorOf(status: number, body: string, baseUrl: string): CliError {
  let code: string | undefined;
  let message = body.trim() || `HTTP ${status}`;
  try {
    const j = JSON.parse(body) as { code?: string; message?: string };
    code = j.code;
    if (j.message) message = j.message;
  } catch {
    // not JSON: the text is the message
  }
  return new CliError(exitForStatus(status), message, hintFor(status, code, baseUrl));
}

function unreachable(baseUrl: string, err: unknown): CliError {
  const e = err as { cause?: { code?: string; message?: string }; code?: string; message?: string };
  const why = e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(err);
  return new CliError(
    EXIT.UNREACHABLE,
    `cannot reach the backend at ${baseUrl} (${why})`,
    'is it running? point the CLI at it with --backend-url or KANADE_BACKEND_URL',
  );
}

export function createApi(o: { baseUrl: string; token: string | undefined; version: string }) {
  const baseHeaders = (): Record<string, string> => ({
    'x-kanade-source': 'cli',
    'user-agent': `kanade-cli/${o.version}`,
    ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
  });

  async function send(method: string, path: string, r: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...baseHeaders(), accept: 'application/json', ...r.headers };
    let body: string | undefined;
    if (r.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(r.json);
    } else if (r.text) {
      headers['content-type'] = r.text.type;
      body = r.text.body;
    }
    let res: Response;
    try {
      res = await fetch(urlOf(o.baseUrl, path, r.query), { method, headers, body });
    } catch (err) {
      throw unreachable(o.baseUrl, err);
    }
    if (!res.ok && res.status !== 304) throw errorOf(res.status, await res.text(), o.baseUrl);
    return res;
  }

  async function request<T>(method: string, path: string, r: RequestOptions = {}): Promise<ApiResponse<T>> {
    const res = await send(method, path, r);
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    const data = (text.length === 0 ? null : type.includes('json') ? JSON.parse(text) : text) as T;
    return { status: res.status, headers: res.headers, data };
  }

  return {
    baseUrl: o.baseUrl,
    hasToken: o.token !== undefined,
    request,
    get: <T>(path: string, query?: Query) => request<T>('GET', path, { query }),
    post: <T>(path: string, json?: unknown, query?: Query) => request<T>('POST', path, { json, query }),
    put: <T>(path: string, json: unknown) => request<T>('PUT', path, { json }),
    patch: <T>(path: string, json: unknown) => request<T>('PATCH', path, { json }),
    delete: <T>(path: string, query?: Query) => request<T>('DELETE', path, { query }),

    /** Whether `path` answers HEAD with 200 (an object that is already stored). */
    async exists(path: string): Promise<boolean> {
      let res: Response;
      try {
        res = await fetch(urlOf(o.baseUrl, path), { method: 'HEAD', headers: baseHeaders() });
      } catch (err) {
        throw unreachable(o.baseUrl, err);
      }
      if (res.status === 404 || res.status === 405) return false;
      if (!res.ok) throw errorOf(res.status, '', o.baseUrl);
      return true;
    },

    /** GET a streamed body (downloads); the caller reads `body`. */
    stream: (path: string, query?: Query) => send('GET', path, { query, headers: { accept: '*/*' } }),

    /** POST a file as the raw body, reporting bytes sent; resolves to the JSON answer. */
    upload<T>(
      path: string,
      file: string,
      u: {
        size: number;
        query?: Query;
        headers?: Record<string, string>;
        onProgress?: (sent: number) => void;
      },
    ): Promise<ApiResponse<T>> {
      const url = urlOf(o.baseUrl, path, u.query);
      const mod = url.protocol === 'https:' ? https : http;
      return new Promise((resolve, reject) => {
        let answered = false;
        const req = mod.request(url, {
          method: 'POST',
          headers: {
            ...baseHeaders(),
            accept: 'application/json',
            'content-type': 'application/octet-stream',
            'content-length': String(u.size),
            ...u.headers,
          },
        });
        req.on('response', (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(unreachable(o.baseUrl, err)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) return reject(errorOf(status, text, o.baseUrl));
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
            resolve({ status, headers, data: (text ? JSON.parse(text) : null) as T });
          });
        });
        let sent = 0;
        req.on('error', (err) => {
          if (answered) return;
          if (sent === 0) return reject(unreachable(o.baseUrl, err));
          reject(
            new CliError(
              EXIT.ERROR,
              `the backend closed the connection after ${sent} of ${u.size} bytes (${(err as NodeJS.ErrnoException).code ?? err.message})`,
              'it may have refused the file (size limit, version exists); see the backend log, then try again',
            ),
          );
        });
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            sent += chunk.length;
            u.onProgress?.(sent);
            cb(null, chunk);
          },
        });
        const source = createReadStream(file);
        source.on('error', (err) => {
          req.destroy();
          reject(new CliError(EXIT.USAGE, `cannot read ${file}: ${err.message}`));
        });
        source.pipe(counter).pipe(req);
      });
    },
  };
}
export type Api = ReturnType<typeof createApi>;
