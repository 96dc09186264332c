// HTTP side of object-store transfers, shared by the release, app-package,
// script-object and bundle routes.
//
// Uploads are raw bodies (`Content-Type: application/octet-stream`), not
// multipart: the content-type parser hands the request stream to the
// handler unread, so the service pulls it at the broker's pace and no body
// limit or buffer applies. `X-Kanade-Sha256` (lowercase hex) is optional;
// when given, a body with another digest is refused and nothing is stored.
// A handler that fails before reading the whole body (a 409, a 413 on the
// declared length) lets Node read and discard the rest when it is at most
// DRAIN_MAX_BYTES, so the client, still sending, reliably gets the answer;
// a larger or unknown rest is cut off with `Connection: close` rather than
// read for nothing.
//
// Downloads carry a strong ETag (`"<sha256 hex>"`), honour If-None-Match
// (304), If-Match (412), a single `Range: bytes=` range (206, 416 outside
// the object; several ranges get the whole object) and If-Range, and skip
// compression: the bytes go out as stored.
import { Readable } from 'node:stream';
import { isSha256Hex, objectDigestHex } from '@kanade/wire';
import type { ObjectInfo } from '@nats-io/obj';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ByteRange } from '../../services/objects.js';
import { ApiError, badRequest } from '../errors.js';
import { ErrorSchema } from './schemas.js';

export const OCTET_STREAM = 'application/octet-stream';

const DRAIN_MAX_BYTES = 16 * 1024 * 1024;

/** Route options of every transfer route: no compression of the bytes either way. */
export const TRANSFER_ROUTE = { compress: false, decompress: false } as const;

/** Let this plugin's routes take raw octet-stream bodies as an unread stream. */
export function acceptRawUploads(app: FastifyInstance) {
  app.addContentTypeParser(OCTET_STREAM, (_req, payload, done) => done(null, payload));
}

export interface Upload {
  body: AsyncIterable<Uint8Array>;
  length: number | undefined;
  sha256: string | undefined;
}

/** The raw body and its declared length and digest; 415 when it was not sent as octet-stream. */
export function uploadOf(req: FastifyRequest): Upload {
  const body = req.body as unknown;
  if (!body || typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') {
    throw new ApiError(
      'KANADE_ERR_UNSUPPORTED_MEDIA_TYPE',
      `send the file as the raw body with Content-Type: ${OCTET_STREAM}`,
    );
  }
  const sha = req.headers['x-kanade-sha256'];
  let sha256: string | undefined;
  if (sha !== undefined) {
    sha256 = String(sha).trim().toLowerCase();
    if (!isSha256Hex(sha256))
      throw badRequest('header x-kanade-sha256: expected the SHA-256 of the body as 64 hex digits');
  }
  const len = req.headers['content-length'];
  const length = len === undefined ? undefined : Number(len);
  return {
    body: body as AsyncIterable<Uint8Array>,
    length: length !== undefined && Number.isSafeInteger(length) ? length : undefined,
    sha256,
  };
}

/** Run an upload handler; on failure before the body was read to its end, close the connection. */
export async function guardUpload<T>(
  req: FastifyRequest,
  reply: FastifyReply,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const declared = Number(req.headers['content-length']);
    if (!req.raw.complete && !(declared <= DRAIN_MAX_BYTES)) reply.header('connection', 'close');
    throw err;
  }
}

/** The `Range` header against an object of `size` bytes: undefined = whole object. */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

function etagMatches(header: string, etag: string): boolean {
  return header
    .split(',')
    .map((s) => s.trim().replace(/^W\//, ''))
    .some((s) => s === '*' || s === etag);
}

/** Answer a GET or HEAD for an object: conditional and range handling, then the (partial) bytes. */
export function sendObject(
  req: FastifyRequest,
  reply: FastifyReply,
  info: ObjectInfo,
  read: (range?: ByteRange) => Readable,
  opts: { filename: string; contentType?: string },
): Readable | null {
  const hex = objectDigestHex(info.digest) ?? info.nuid;
  const etag = `"${hex}"`;
  reply
    .header('etag', etag)
    .header('accept-ranges', 'bytes')
    .header('last-modified', new Date(info.mtime).toUTCString())
    .header('x-kanade-sha256', hex)
    .header('content-type', opts.contentType ?? OCTET_STREAM)
    .header('content-disposition', `attachment; filename="${opts.filename.replace(/["\\\r\n]/g, '_')}"`);
  // Fastify's HEAD twin drains a returned stream and trips over null; an empty stream keeps the headers.
  const empty = () => (req.method === 'HEAD' ? Readable.from([]) : null);
  const ifMatch = req.headers['if-match'];
  if (ifMatch && !etagMatches(ifMatch, etag)) {
    throw new ApiError(
      'KANADE_ERR_PRECONDITION_FAILED',
      `If-Match ${ifMatch}: the object's ETag is now ${etag}`,
    );
  }
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch && etagMatches(ifNoneMatch, etag)) {
    reply.code(304);
    return empty();
  }
  const ifRange = req.headers['if-range'];
  const range = ifRange && ifRange !== etag ? undefined : parseRange(req.headers.range, info.size);
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${info.size}`);
    throw new ApiError(
      'KANADE_ERR_RANGE_NOT_SATISFIABLE',
      `Range ${req.headers.range} is outside the object (${info.size} bytes)`,
    );
  }
  if (range) {
    reply
      .code(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${info.size}`)
      .header('content-length', range.end - range.start + 1);
  } else {
    reply.header('content-length', info.size);
  }
  if (req.method === 'HEAD') return empty();
  return read(range);
}

/** Response schemas of a download route (the 200 body is the raw object, not serialized). */
export const downloadResponses = {
  200: z.unknown().describe('the object bytes'),
  206: z.unknown().describe('the requested range of the object bytes'),
  304: z.null().describe('the ETag in If-None-Match is current'),
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
  404: ErrorSchema,
  412: ErrorSchema,
  416: ErrorSchema,
} as const;

/** Schema parts of an upload route: the raw body (passed through unread) and X-Kanade-Sha256, for OpenAPI. */
export const UPLOAD_SCHEMA = {
  consumes: [OCTET_STREAM],
  body: z.any().describe('the file, as the raw request body'),
  headers: z.looseObject({
    'x-kanade-sha256': z
      .string()
      .optional()
      .describe('SHA-256 of the body (64 hex digits); a body with another digest is refused'),
  }),
};
