// Bounded buffers for a child's stdout/stderr.
//
// - createCapture: what goes into the ExecResult. A script that writes
//   without bound must not take the agent's memory or the fleet's shared
//   `result_output` store with it (upstream #1320: one run wrote 563 MiB), so
//   each stream keeps at most MAX_CAPTURE_BYTES: the first two thirds and the
//   last third, with a marker between them saying how much was dropped (the
//   head shows what the run did, the tail where it failed). 8 MiB is 32x the
//   inline threshold, so verbose output still spills to the object store
//   intact and only the pathological case is cut.
// - createRing: the live view served over `job.tail.{pc_id}`, the trailing
//   LIVE_TAIL_CAP bytes (128 KiB per stream, well under NATS' 1 MB payload).
//
// Both hold Buffers and decode once, at the end, so a multi-byte character
// split across two reads is never mangled; a cut at the front of a tail is
// moved forward to the next character boundary.

import { STDOUT_INLINE_THRESHOLD } from '@kanade/wire';

export const MAX_CAPTURE_BYTES = 32 * STDOUT_INLINE_THRESHOLD;
export const LIVE_TAIL_CAP = 128 * 1024;

export interface Capture {
  push(chunk: Buffer): void;
  /** Bytes the child wrote, including any dropped. */
  readonly total: number;
  finish(): string;
}

/** A sliding window holding at least the last `cap` bytes pushed (whole chunks, trimmed on read). */
class Window {
  chunks: Buffer[] = [];
  bytes = 0;
  dropped = 0;
  constructor(readonly cap: number) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0 || this.cap === 0) {
      this.dropped += chunk.length;
      return;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= this.cap) {
      const first = this.chunks.shift()!;
      this.bytes -= first.length;
      this.dropped += first.length;
    }
  }

  /** The last `cap` bytes; `cut` is how many more bytes were trimmed off the front here. */
  last(): { data: Buffer; cut: number } {
    const all = Buffer.concat(this.chunks, this.bytes);
    const cut = Math.max(0, all.length - this.cap);
    return { data: all.subarray(cut), cut };
  }
}

/** Skips UTF-8 continuation bytes at the front, so a cut never starts mid-character. */
function fromBoundary(data: Buffer): Buffer {
  let i = 0;
  while (i < data.length && i < 3 && (data[i]! & 0xc0) === 0x80) i++;
  return data.subarray(i);
}

export function createCapture(cap = MAX_CAPTURE_BYTES): Capture {
  const headCap = Math.floor(cap / 3) * 2;
  const head: Buffer[] = [];
  let headBytes = 0;
  const tail = new Window(cap - headCap);
  let total = 0;
  return {
    get total() {
      return total;
    },
    push(chunk) {
      total += chunk.length;
      let rest = chunk;
      if (headBytes < headCap) {
        const take = Math.min(headCap - headBytes, rest.length);
        head.push(rest.subarray(0, take));
        headBytes += take;
        rest = rest.subarray(take);
      }
      if (rest.length > 0) tail.push(rest);
    },
    finish() {
      const { data, cut } = tail.last();
      const headBuf = Buffer.concat(head, headBytes);
      if (tail.dropped + cut === 0) return Buffer.concat([headBuf, data]).toString('utf8');
      const kept = fromBoundary(data);
      const dropped = total - headBytes - kept.length;
      return (
        `${headBuf.toString('utf8')}\n[kanade] output truncated: ${total} bytes written, ${dropped} dropped ` +
        `(kept the first ${headBytes} and the last ${kept.length}).\n${kept.toString('utf8')}`
      );
    },
  };
}

export interface Ring {
  push(chunk: Buffer): void;
  snapshot(): { text: string; truncated: boolean };
}

export function createRing(cap = LIVE_TAIL_CAP): Ring {
  const w = new Window(cap);
  return {
    push(chunk) {
      w.push(chunk);
    },
    snapshot() {
      const { data, cut } = w.last();
      const truncated = w.dropped + cut > 0;
      return { text: (truncated ? fromBoundary(data) : data).toString('utf8'), truncated };
    },
  };
}
