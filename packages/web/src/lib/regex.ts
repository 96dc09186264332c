// Regexes for the roster's `q` filter (GET /api/agents matches it against
// pc_id and hostname, case-insensitively, at most 256 characters): a typed
// prefix, and exact-match lists for checking many pc_ids in few requests.

const MAX_REGEX = 256;

export const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Exact-match regexes `^(a|b|...)$` for `ids`, each at most 256 characters. */
export function exactRegexes(ids: readonly string[]): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  const render = (list: string[]) => `^(${list.join('|')})$`;
  for (const id of ids) {
    const e = escapeRegex(id);
    if (render([e]).length > MAX_REGEX) continue;
    if (cur.length && render([...cur, e]).length > MAX_REGEX) {
      out.push(render(cur));
      cur = [];
    }
    cur.push(e);
  }
  if (cur.length) out.push(render(cur));
  return out;
}
