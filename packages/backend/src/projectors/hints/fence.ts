// Hint payloads in a job's stdout, as upstream's `fenced_payload`: a job
// that composes several hints (inventory + check, or a message for the user
// plus JSON) fences each payload between `#KANADE-<KIND>-BEGIN` and
// `#KANADE-<KIND>-END` lines. A hint reads its own block; without any fence
// it reads the whole stdout (a single-hint job); when other hints' fences are
// present but its own is missing it reads nothing, so it never parses a
// sibling's block. Markers count only at the start of a line, and an
// unterminated block runs to the end of the output (truncation).

export type HintKind = 'INVENTORY' | 'CHECK' | 'COLLECT' | 'FEED';

const KINDS: readonly HintKind[] = ['INVENTORY', 'CHECK', 'COLLECT', 'FEED'];
const begin = (k: HintKind) => `#KANADE-${k}-BEGIN`;
const end = (k: HintKind) => `#KANADE-${k}-END`;

/** Index of `marker` where it starts a line, or -1. */
function lineMarker(text: string, marker: string): number {
  if (text.startsWith(marker)) return 0;
  const i = text.indexOf(`\n${marker}`);
  return i < 0 ? -1 : i + 1;
}

/** The trimmed payload of hint `kind` in `stdout` ('' when another hint is fenced and this one is not). */
export function fencedPayload(stdout: string, kind: HintKind): string {
  const b = lineMarker(stdout, begin(kind));
  if (b >= 0) {
    const after = stdout.slice(b + begin(kind).length);
    const e = lineMarker(after, end(kind));
    return (e >= 0 ? after.slice(0, e) : after).trim();
  }
  return KINDS.some((k) => lineMarker(stdout, begin(k)) >= 0) ? '' : stdout.trim();
}

/** Wrap a JSON payload in its fence (the simulator and tests compose multi-hint output with it). */
export function fence(kind: HintKind, payload: string): string {
  return `${begin(kind)}\n${payload}\n${end(kind)}\n`;
}
