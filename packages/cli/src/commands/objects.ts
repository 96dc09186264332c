// app (app packages), script (script objects) and collect (collected bundles).
import { basename } from 'node:path';
import { intOpt, parse } from '../args.js';
import type { Command, Ctx } from '../context.js';
import { dispatch } from '../dispatch.js';
import { formatBytes, formatTime } from '../output.js';
import { downloadFile, uploadFile } from '../transfer.js';

interface PackageRow {
  name: string;
  version: string;
  key: string;
  size: number;
  digest: string | null;
  modified: string;
  description: string | null;
}

function packageCommand(o: {
  base: string;
  noun: string;
  cmd: string;
  summary: string;
  limit: string;
  maxBytes: number;
}): Command {
  const USAGE = `usage: kanade ${o.cmd} list [--name <name>]
       kanade ${o.cmd} upload <file> <name> <version> [--description <text>]
       kanade ${o.cmd} download <name> <version> [-o <file> | -o -]
       kanade ${o.cmd} delete <name> <version>

${o.summary} Uploads stream with a progress bar and are checked against their SHA-256;
a version is immutable (409 when it exists: delete it first). Limit ${o.limit}.`;

  async function list(ctx: Ctx, argv: string[]) {
    const p = parse(argv, { name: { type: 'string' }, limit: { type: 'string' } }, USAGE);
    const r = await ctx.api.get<PackageRow[]>(o.base, {
      name: p.opt('name'),
      limit: intOpt(p, 'limit', 1000, 1, 10_000),
    });
    ctx.out.emit(r.data, () =>
      ctx.out.table(
        r.data,
        [
          { header: 'name', value: (x) => x.name },
          { header: 'version', value: (x) => x.version },
          { header: 'size', value: (x) => formatBytes(x.size), right: true },
          { header: 'modified', value: (x) => formatTime(x.modified) },
          { header: 'sha256', value: (x) => x.digest },
          { header: 'description', value: (x) => x.description ?? '' },
        ],
        `no ${o.noun}s`,
      ),
    );
    return undefined;
  }

  async function upload(ctx: Ctx, argv: string[]) {
    const p = parse(argv, { description: { type: 'string' } }, USAGE);
    const file = p.arg(0, 'file');
    const name = p.arg(1, 'name');
    const version = p.arg(2, 'version');
    const r = await uploadFile<PackageRow>(
      ctx,
      `${o.base}/${encodeURIComponent(name)}/${encodeURIComponent(version)}`,
      file,
      { query: { description: p.opt('description') }, maxBytes: o.maxBytes, what: o.noun },
    );
    ctx.out.emit(r, () => ctx.out.line(`stored ${r.key} (${formatBytes(r.size)}, sha256 ${r.digest})`));
    return undefined;
  }

  async function download(ctx: Ctx, argv: string[]) {
    const p = parse(argv, { output: { type: 'string', short: 'o' } }, USAGE);
    const name = p.arg(0, 'name');
    const version = p.arg(1, 'version');
    const out = p.opt('output') ?? `${name}-${version}`;
    const r = await downloadFile(
      ctx,
      `${o.base}/${encodeURIComponent(name)}/${encodeURIComponent(version)}`,
      out,
    );
    if (out !== '-')
      ctx.out.emit({ file: out, ...r }, () =>
        ctx.out.line(`saved ${out} (${formatBytes(r.size)}, sha256 ${r.sha256})`),
      );
    return undefined;
  }

  async function remove(ctx: Ctx, argv: string[]) {
    const p = parse(argv, {}, USAGE);
    const name = p.arg(0, 'name');
    const version = p.arg(1, 'version');
    await ctx.api.delete(`${o.base}/${encodeURIComponent(name)}/${encodeURIComponent(version)}`);
    ctx.out.emit({ key: `${name}/${version}`, deleted: true }, () =>
      ctx.out.line(`deleted ${name}/${version}`),
    );
    return undefined;
  }

  return {
    summary: `${o.noun}s: list, upload, download, delete`,
    usage: USAGE,
    run: (ctx, argv) => dispatch(ctx, argv, { list, upload, download, delete: remove }, USAGE),
  };
}

export const app = packageCommand({
  base: '/api/app-packages',
  noun: 'app package',
  cmd: 'app',
  summary: 'App packages: installers and other files agents fetch by name/version.',
  limit: '8 GiB',
  maxBytes: 8 * 1024 * 1024 * 1024,
});

export const script = packageCommand({
  base: '/api/script-objects',
  noun: 'script object',
  cmd: 'script',
  summary:
    'Script objects: bodies a job names in execute.script_object (name/version); agents check the SHA-256 before running one.',
  limit: '4 MiB',
  maxBytes: 4 * 1024 * 1024,
});

const COLLECT_USAGE = `usage: kanade collect list [--pc <pc_id>] [--job <job_id>] [--limit N]
       kanade collect download <key> [-o <file> | -o -]
       kanade collect delete <key>

Zips uploaded by jobs with a collect: hint, keyed <pc_id>/<job_id>/[<label>__]<time>.zip.`;

interface BundleRow {
  key: string;
  pc_id: string | null;
  job_id: string | null;
  collected_at: string | null;
  label: string | null;
  size: number;
  name: string | null;
}

export const collect: Command = {
  summary: 'collected bundles: list, download, delete',
  usage: COLLECT_USAGE,
  run: (ctx, argv) =>
    dispatch(
      ctx,
      argv,
      {
        async list(c, a) {
          const p = parse(
            a,
            { pc: { type: 'string' }, job: { type: 'string' }, limit: { type: 'string' } },
            COLLECT_USAGE,
          );
          const r = await c.api.get<BundleRow[]>('/api/collect/bundles', {
            pc_id: p.opt('pc'),
            job_id: p.opt('job'),
            limit: intOpt(p, 'limit', 100, 1, 10_000),
          });
          c.out.emit(r.data, () =>
            c.out.table(
              r.data,
              [
                { header: 'collected', value: (x) => formatTime(x.collected_at) },
                { header: 'pc_id', value: (x) => x.pc_id },
                { header: 'job', value: (x) => x.job_id },
                { header: 'name', value: (x) => x.name ?? x.label ?? '' },
                { header: 'size', value: (x) => formatBytes(x.size), right: true },
                { header: 'key', value: (x) => x.key },
              ],
              'no collected bundles',
            ),
          );
          return undefined;
        },
        async download(c, a) {
          const p = parse(a, { output: { type: 'string', short: 'o' } }, COLLECT_USAGE);
          const key = p.arg(0, 'key');
          const out = p.opt('output') ?? basename(key);
          const path = `/api/collect/bundles/${key.split('/').map(encodeURIComponent).join('/')}`;
          const r = await downloadFile(c, path, out);
          if (out !== '-')
            c.out.emit({ file: out, ...r }, () => c.out.line(`saved ${out} (${formatBytes(r.size)})`));
          return undefined;
        },
        async delete(c, a) {
          const p = parse(a, {}, COLLECT_USAGE);
          const key = p.arg(0, 'key');
          await c.api.delete(`/api/collect/bundles/${key.split('/').map(encodeURIComponent).join('/')}`);
          c.out.emit({ key, deleted: true }, () => c.out.line(`deleted ${key}`));
          return undefined;
        },
      },
      COLLECT_USAGE,
    ),
};
