// `npm run bench -- <name> [options]`: runs bench/<name>.ts, prints a short
// table and, as the last line, the result as one JSON object. Results are also
// kept under bench/results/ (git-ignored) for comparison between runs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BENCHES: Record<string, () => Promise<{ run(args: string[]): Promise<Record<string, unknown>> }>> = {
  telemetry: () => import('./telemetry.js'),
  ingest: () => import('./ingest.js'),
  results: () => import('./results.js'),
  inventory: () => import('./inventory.js'),
  dashboard: () => import('./dashboard.js'),
  scheduler: () => import('./scheduler.js'),
  objects: () => import('./objects.js'),
  soak: () => import('./soak.js'),
  retention: () => import('./retention.js'),
};

function table(result: Record<string, unknown>, prefix = ''): string[] {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(result)) {
    if (v && typeof v === 'object' && !Array.isArray(v))
      lines.push(...table(v as Record<string, unknown>, `${prefix}${k}.`));
    else lines.push(`${`${prefix}${k}`.padEnd(48)} ${Array.isArray(v) ? JSON.stringify(v) : String(v)}`);
  }
  return lines;
}

const [name, ...args] = process.argv.slice(2);
const load = name ? BENCHES[name] : undefined;
if (!load) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [options]\n`);
  process.exit(2);
}
const mod = await load();
const result = { bench: name, at: new Date().toISOString(), ...(await mod.run(args)) };
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(
  join(dir, `${name}-${result.at.replace(/[:.]/g, '-')}.json`),
  `${JSON.stringify(result, null, 2)}\n`,
);
process.stdout.write(`${table(result).join('\n')}\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
