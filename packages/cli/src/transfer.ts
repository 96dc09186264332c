// File transfers with progress: an upload is hashed first (SHA-256, sent as
// X-Kanade-Sha256 so the backend refuses bytes that changed on the way),
// then streamed; a download is streamed to `<file>.part`, checked against
// the digest the backend sends (X-Kanade-Sha256) and only then renamed into
// place, so a broken transfer never leaves a file that looks complete.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import type { Ctx } from './context.js';
import { CliError, EXIT, usage } from './errors.js';
import type { Query } from './http.js';
import { formatBytes } from './output.js';

function sizeOf(file: string): number {
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    return st.size;
  } catch (err) {
    throw usage(`cannot read ${file}: ${(err as Error).message}`);
  }
}

export async function hashFile(ctx: Ctx, file: string): Promise<{ size: number; sha256: string }> {
  const size = sizeOf(file);
  const bar = ctx.progress.bar('hashing  ', size, { bytes: true });
  const hash = createHash('sha256');
  let done = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    bar.update(done);
  }
  bar.finish();
  return { size, sha256: hash.digest('hex') };
}

export async function uploadFile<T>(
  ctx: Ctx,
  path: string,
  file: string,
  o: { query?: Query; maxBytes: number; what: string },
): Promise<T> {
  const size = sizeOf(file);
  if (size > o.maxBytes)
    throw new CliError(
      EXIT.REFUSED,
      `${file} is ${size} bytes; a ${o.what} may be at most ${o.maxBytes} (${formatBytes(o.maxBytes)})`,
    );
  // Ask first: once a large body is streaming, the server's early 409 arrives as a closed connection.
  if (await ctx.api.exists(path))
    throw new CliError(
      EXIT.REFUSED,
      `${path} already exists`,
      'delete it first or upload under a new version',
    );
  const { sha256 } = await hashFile(ctx, file);
  const bar = ctx.progress.bar('uploading', size, { bytes: true });
  const r = await ctx.api.upload<T>(path, file, {
    size,
    query: o.query,
    headers: { 'x-kanade-sha256': sha256 },
    onProgress: (sent) => bar.update(sent),
  });
  bar.finish();
  return r.data;
}

/** Download to `out` (`-` = stdout); returns the size and the verified digest. */
export async function downloadFile(
  ctx: Ctx,
  path: string,
  out: string,
): Promise<{ size: number; sha256: string }> {
  const res = await ctx.api.stream(path);
  const total = Number(res.headers.get('content-length') ?? 0);
  const want = res.headers.get('x-kanade-sha256') ?? undefined;
  const bar = ctx.progress.bar('downloading', total, { bytes: true });
  const hash = createHash('sha256');
  const toStdout = out === '-';
  const part = `${out}.part`;
  const sink = toStdout ? undefined : createWriteStream(part);
  let size = 0;
  try {
    if (!res.body) throw new CliError(EXIT.ERROR, 'the backend sent no body');
    for await (const chunk of res.body) {
      hash.update(chunk);
      size += chunk.length;
      if (sink) {
        if (!sink.write(chunk)) await once(sink, 'drain');
      } else ctx.out.raw(chunk);
      bar.update(size);
    }
    if (sink) {
      sink.end();
      await once(sink, 'finish');
    }
    const got = hash.digest('hex');
    if (want && got !== want)
      throw new CliError(
        EXIT.ERROR,
        `the download has sha256 ${got}, the backend says ${want}`,
        'download it again',
      );
    if (!toStdout) renameSync(part, out);
    bar.finish();
    return { size, sha256: got };
  } catch (err) {
    bar.finish();
    sink?.destroy();
    if (!toStdout) rmSync(part, { force: true });
    if (err instanceof CliError) throw err;
    throw new CliError(EXIT.ERROR, `download failed: ${(err as Error).message}`, 'try again');
  }
}
