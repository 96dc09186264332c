// The request_ids this agent has already acted on, kept on disk, so a command
// runs at most once per PC: not again when JetStream redelivers it (a crash
// between recording and acking), when the replay durable is recreated (its
// LastPerSubject start hands out the newest command of every subject again),
// nor after an agent restart. One request_id is shared by every subject of an
// exec, so a PC addressed through `commands.all` and a group runs it once.
//
// An append-only log, `handled-requests.log`, one `<epoch_ms> <request_id>`
// line per command, fsynced before the command's message is acked. EXEC keeps
// a command for at most 7 days, so entries older than RETAIN_MS (8 days) can
// never match again: they are dropped when the log is opened, and whenever it
// has grown to twice its size after the last rewrite (written to a temp file
// and renamed, so a crash leaves the old or the new log, never half of one).

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const RETAIN_MS = 8 * 24 * 60 * 60 * 1000;
const MIN_COMPACT_AT = 10_000;

export interface HandledSet {
  has(requestId: string): boolean;
  /** Records the id durably (fsync); throws when the disk refuses. */
  add(requestId: string): void;
  readonly size: number;
  close(): void;
}

function readLog(path: string): Map<string, number> {
  const seen = new Map<string, number>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return seen;
  }
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const at = Number(line.slice(0, space));
    const id = line.slice(space + 1);
    if (Number.isFinite(at) && id.length > 0) seen.set(id, at);
  }
  return seen;
}

export function openHandledSet(dir: string, now: () => number = Date.now): HandledSet {
  const path = join(dir, 'handled-requests.log');
  const seen = readLog(path);
  let fd = -1;
  let compactAt = MIN_COMPACT_AT;

  function rewrite(): void {
    const cutoff = now() - RETAIN_MS;
    for (const [id, at] of seen) if (at < cutoff) seen.delete(id);
    const tmp = `${path}.tmp`;
    const out = openSync(tmp, 'w', 0o600);
    try {
      let text = '';
      for (const [id, at] of seen) text += `${at} ${id}\n`;
      writeSync(out, text);
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    if (fd >= 0) closeSync(fd);
    renameSync(tmp, path);
    fd = openSync(path, 'a', 0o600);
    compactAt = Math.max(MIN_COMPACT_AT, 2 * seen.size);
  }

  rewrite();
  return {
    has: (id) => seen.has(id),
    get size() {
      return seen.size;
    },
    add(id) {
      const at = now();
      writeSync(fd, `${at} ${id}\n`);
      fsyncSync(fd);
      seen.set(id, at);
      if (seen.size >= compactAt) rewrite();
    },
    close() {
      if (fd >= 0) closeSync(fd);
      fd = -1;
    },
  };
}
