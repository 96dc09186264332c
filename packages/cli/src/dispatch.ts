// Subcommands (`kanade job apply ...`): the first word picks one.
import { firstWord } from './args.js';
import type { Ctx, Sub } from './context.js';
import { usage } from './errors.js';

export function dispatch(
  ctx: Ctx,
  argv: string[],
  subs: Record<string, Sub>,
  usageText: string,
  fallback?: string,
): Promise<number | undefined> {
  const at = firstWord(argv);
  const name = at >= 0 ? argv[at]! : fallback;
  const known = Object.keys(subs).join(', ');
  if (name === undefined) throw usage(`which one? ${known}`, usageText);
  const sub = subs[name];
  if (sub) return sub(ctx, at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 1)] : argv);
  if (fallback === undefined)
    throw usage(`unknown subcommand ${JSON.stringify(name)}; expected one of ${known}`, usageText);
  return subs[fallback]!(ctx, argv);
}
