// Case-insensitive filter patterns from API callers (agents `q`, results
// `stdout`, audit `payload` ...), compiled so that no pattern can hang a
// thread. These run synchronously inside SQLite's REGEXP on the HTTP thread,
// and JavaScript's backtracking engine is exponential on patterns such as
// `(a+)+$` (the API fuzzer found one freezing the whole API). So:
// - a pattern must be one V8's linear-time engine can run: the subset that
//   upstream's Rust `regex` crate accepts (no backreferences, no lookaround,
//   bounded counted repetition); anything else is refused at validation (400);
// - matching uses the fast backtracking engine, and V8 switches a match to
//   the linear engine once it backtracks too much
//   (--enable-experimental-regexp-engine-on-excessive-backtracks);
// - that engine has no `i` flag in Node 20's V8, so case-insensitivity is
//   lower-casing: the pattern's literal letters (an escape such as \D, \W, \S
//   or \B keeps its case) and the text it is matched against.
import { setFlagsFromString } from 'node:v8';

// Process-wide V8 flags, set before the first filter is compiled (every thread imports this module).
setFlagsFromString('--enable-experimental-regexp-engine');
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/** `pattern` with its literal letters lower-cased; the character after a backslash keeps its case. */
export function lowerPattern(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      out += c + pattern[i + 1];
      i++;
    } else {
      out += c.toLowerCase();
    }
  }
  return out;
}

/** A compiled filter; match it against `text.toLowerCase()`. Throws a SyntaxError saying why a pattern is refused. */
export function compileFilter(pattern: string): RegExp {
  const lowered = lowerPattern(pattern);
  // Throws "Cannot be executed in linear time" for backreferences, lookaround and the like.
  new RegExp(lowered, 'l');
  return new RegExp(lowered);
}

/** Why `pattern` is refused as a filter, or undefined when it is accepted. */
export function filterProblem(pattern: string): string | undefined {
  try {
    compileFilter(pattern);
    return undefined;
  } catch (err) {
    return /linear time/.test((err as Error).message)
      ? 'not supported: backreferences, lookaround and large counted repetitions are not allowed'
      : 'not a valid regular expression';
  }
}
