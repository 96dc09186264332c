// A gzip'd tar archive of a few in-memory files, for the agent installer
// (services/installer.ts). POSIX ustar, regular files only, every path under
// 100 bytes: what `tar -xzf` on any Linux or macOS reads; there is no tar
// dependency for so little.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

export interface TarFile {
  /** Relative path, at most 100 bytes. */
  path: string;
  mode: number;
  data: Uint8Array | string;
}

const BLOCK = 512;
const encoder = new TextEncoder();

/** `value` as a NUL-terminated octal field of `width` bytes. */
function octal(header: Uint8Array, offset: number, width: number, value: number) {
  const text = value.toString(8).padStart(width - 1, '0');
  if (text.length > width - 1) throw new Error(`tar: ${value} does not fit a ${width}-byte field`);
  header.set(encoder.encode(text), offset);
}

function header(path: string, mode: number, size: number, mtime: number): Uint8Array {
  const name = encoder.encode(path);
  if (name.length === 0 || name.length > 100) throw new Error(`tar: path must be 1-100 bytes: ${path}`);
  const h = new Uint8Array(BLOCK);
  h.set(name, 0);
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h[156] = 0x30; // '0': a regular file
  h.set(encoder.encode('ustar\u000000'), 257);
  h.set(encoder.encode('root'), 265);
  h.set(encoder.encode('root'), 297);
  // The checksum is computed with its own field read as eight spaces.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(encoder.encode(`${sum.toString(8).padStart(6, '0')}\u0000 `), 148);
  return h;
}

/** The files as a .tar (uncompressed). */
export function tar(files: readonly TarFile[], mtimeMs = Date.now()): Buffer {
  const mtime = Math.floor(mtimeMs / 1000);
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const data = typeof f.data === 'string' ? encoder.encode(f.data) : f.data;
    parts.push(header(f.path, f.mode, data.length, mtime), data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(new Uint8Array(pad));
  }
  // Two zero blocks end the archive.
  parts.push(new Uint8Array(2 * BLOCK));
  return Buffer.concat(parts);
}

const gzipAsync = promisify(gzip);

/** The files as a .tar.gz, compressed off the event loop (libuv's thread pool). */
export function tarGz(files: readonly TarFile[], mtimeMs = Date.now()): Promise<Buffer> {
  return gzipAsync(tar(files, mtimeMs));
}
