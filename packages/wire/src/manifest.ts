// The job manifest (`jobs` KV) and the FanoutPlan (`POST /api/exec/{job_id}`
// body), with upstream's field names (kanade-shared `manifest.rs`, the
// generated `docs/schemas/job.schema.json`).
//
// Each schema is built twice from one definition: the writer (`Manifest`,
// `FanoutPlan`) rejects unknown keys at every level, so an operator's typo is
// a 400 naming the path; the reader (`ManifestRecord`) strips unknown keys,
// because the `jobs` bucket is shared with upstream backends that may be
// newer (#492). Durations are humantime strings checked with parseDuration;
// the stored manifest keeps them as strings, exactly as upstream does.
//
// One extension over upstream: `rollout.abort_on_failure_pct` stops the
// remaining waves when too many finished results of earlier waves failed.
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { isValidToken } from './subjects.js';
import { isRfc3339 } from './time.js';

/** Manifest ids are KV keys, audit subject tokens and script_current keys. */
const MANIFEST_ID_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** A manifest id (`jobs` key, `script_current` / `script_status` key, audit target). */
export const ManifestId = z
  .string()
  .min(1)
  .max(128)
  .regex(MANIFEST_ID_RE, 'letters, digits, _ and - in dot-separated parts (it is a KV key)');

const duration = (minMs: number) =>
  z
    .string()
    .max(64)
    .refine(
      (s) => {
        const ms = parseDuration(s);
        return ms !== undefined && ms >= minMs;
      },
      {
        message:
          minMs > 0
            ? `expected a duration of at least ${minMs / 1000}s such as 30s, 5m or 1h30m`
            : 'expected a duration such as 0s, 30s, 5m or 1h30m',
      },
    );

const token = (what: string) =>
  z
    .string()
    .min(1)
    .max(256)
    .refine(isValidToken, `${what} must be one NATS subject token (no dots, spaces, * or >)`);

const rfc3339 = z
  .string()
  .max(64)
  .refine(isRfc3339, 'expected an RFC 3339 timestamp such as 2026-05-01T10:00:00Z');
const text = (max: number) => z.string().max(max);
const opt = <T extends z.ZodType>(t: T) => t.nullish();

export const ManifestShell = z.enum(['powershell', 'cmd', 'sh', 'pwsh']);
export const ManifestRunAs = z.enum(['system', 'user', 'system_gui']);
const checkStatus = z.enum(['ok', 'warn', 'fail', 'unknown']);

/** z.object (strip unknown keys) for readers, z.strictObject for writers. */
type ObjectFactory = typeof z.object;

function build(strict: boolean) {
  const o: ObjectFactory = strict ? (z.strictObject as unknown as ObjectFactory) : z.object;

  const Target = o({
    all: z.boolean().default(false),
    groups: z.array(token('a group')).max(1000).default([]),
    pcs: z.array(token('a pc_id')).max(100_000).default([]),
  });

  const Staleness = z.discriminatedUnion('mode', [
    o({ mode: z.literal('cached') }),
    o({ mode: z.literal('strict'), max_cache_age: duration(0) }),
    o({ mode: z.literal('unchecked') }),
  ]);

  const Execute = o({
    shell: ManifestShell,
    script: opt(z.string().max(4 * 1024 * 1024)),
    script_file: opt(text(4096)),
    script_object: opt(text(512)),
    timeout: duration(1000),
    run_as: ManifestRunAs.default('system'),
    cwd: opt(text(4096)),
    bypass_local_limit: opt(z.boolean()),
  });

  interface DisplayFieldT {
    field: string;
    label: string;
    type?: string | null | undefined;
    columns?: DisplayFieldT[] | null | undefined;
  }
  const DisplayField: z.ZodType<DisplayFieldT> = z.lazy(() =>
    o({
      field: text(256),
      label: text(256),
      type: opt(text(32)),
      columns: opt(z.array(DisplayField).max(100)),
    }),
  );

  const Inventory = o({
    display: z.array(DisplayField).max(200),
    summary: opt(z.array(DisplayField).max(200)),
    explode: opt(
      z
        .array(
          o({
            field: text(256),
            table: text(128),
            primary_key: z.array(text(256)).max(16),
            columns: z
              .array(o({ field: text(256), type: opt(text(16)), index: z.boolean().default(false) }))
              .max(200),
            track_history: z.boolean().default(false),
          }),
        )
        .max(32),
    ),
    history_scalars: opt(z.array(text(256)).max(200)),
  });

  const Emit = o({ type: z.literal('events'), watermark_path: opt(text(4096)) });

  const Check = o({
    name: text(128).min(1),
    label: opt(text(256)),
    status_field: text(128).default('status'),
    detail_field: text(128).default('detail'),
    troubleshoot: opt(text(256)),
    fleet: z.boolean().default(true),
    health: z.boolean().default(true),
    alert: opt(
      o({
        on: z.array(z.enum(['warn', 'fail', 'unknown'])).default(['fail']),
        notify_user: z.boolean().default(false),
        notify_groups: z.array(token('a group')).max(100).default([]),
        priority: z.enum(['info', 'warn', 'emergency']).default('warn'),
        require_ack: z.boolean().default(false),
        toast: z.boolean().default(false),
        email: z.boolean().default(false),
        title: text(512),
        body: opt(text(8192)),
      }),
    ),
  });

  const Client = o({
    name: text(256).min(1),
    category: text(128).min(1),
    description: opt(text(1024)),
    icon: opt(text(65_536)),
    category_label: opt(text(256)),
    category_icon: opt(text(65_536)),
    category_order: opt(z.number().int()),
    visible_to: opt(Target),
    show_when: opt(o({ check: text(128), is: z.union([checkStatus, z.array(checkStatus).min(1)]) })),
    unlock: opt(text(128)),
    confirm: opt(z.union([z.boolean(), o({ enabled: z.boolean().default(true), message: opt(text(1024)) })])),
  });

  const Collect = o({
    name: text(256).min(1),
    files_field: text(128).default('files'),
    max_size: opt(text(32)),
    description: opt(text(1024)),
  });

  const Feed = o({ id: text(128).min(1), field: text(256), primary_key: z.array(text(256)).min(1).max(16) });

  const Finalize = o({
    shell: ManifestShell,
    script: z
      .string()
      .min(1)
      .max(1024 * 1024),
    timeout: duration(1000).default('60s'),
    run_as: ManifestRunAs.default('system'),
    cwd: opt(text(4096)),
    on_each_bundle: z.boolean().default(false),
  });

  const Aggregate = o({
    dashboard: text(256),
    title: text(256).min(1),
    description: opt(text(1024)),
    render: z.enum(['bar', 'gauge', 'timeline', 'stat', 'op_timeline', 'unknown']),
    kind: opt(text(128)),
    source: opt(text(256)),
    agg: opt(z.enum(['count', 'ratio', 'sum', 'unknown'])),
    group_by: opt(text(256)),
    value_path: opt(text(256)),
    bool_path: opt(text(256)),
    exclude: z.array(text(256)).max(1000).optional(),
    limit: opt(z.number().int().min(1)),
    order: opt(z.number().int()),
    pin_dashboard: z.boolean().optional(),
    sample_minutes: opt(z.number().int().min(1)),
    scope: z.enum(['pc', 'fleet', 'unknown']).default('pc'),
    time_bucket: opt(z.enum(['hour', 'unknown'])),
    transform: opt(z.enum(['host', 'unknown'])),
  });

  const Origin = o({ path: text(4096), repo: opt(text(4096)), script_file: opt(text(4096)) });

  const Manifest = o({
    id: ManifestId,
    version: text(128).min(1),
    description: opt(text(4096)),
    execute: Execute,
    require_approval: z.boolean().default(false),
    inventory: opt(Inventory),
    emit: opt(Emit),
    check: opt(Check),
    client: opt(Client),
    collect: opt(Collect),
    feed: z.array(Feed).max(32).optional(),
    finalize: opt(Finalize),
    aggregate: opt(z.array(Aggregate).max(200)),
    staleness: Staleness.default({ mode: 'cached' }),
    tags: z.array(text(128)).max(64).optional(),
    tier: opt(z.enum(['endpoint', 'controller', 'unknown'])),
    origin: opt(Origin),
  });

  const Wave = o({ group: token('a wave group'), delay: duration(0) });
  const Rollout = o({
    strategy: z.literal('wave').default('wave'),
    waves: z.array(Wave).min(1, 'at least one wave').max(100),
    /** Extension: stop the remaining waves once more than this share (percent) of finished results failed. */
    abort_on_failure_pct: z.number().min(0).max(100).optional(),
  });
  const FanoutPlan = o({
    target: Target.default({ all: false, groups: [], pcs: [] }),
    rollout: opt(Rollout),
    jitter: opt(duration(0)),
    deadline_at: opt(rfc3339),
  });

  return { Manifest, FanoutPlan, Target, Rollout, Wave, Staleness };
}

const writer = build(true);
const reader = build(false);

/** Cross-field rules upstream's `Manifest::validate` enforces at the write boundary. */
function validateManifest(m: z.infer<typeof writer.Manifest>, ctx: z.RefinementCtx) {
  const e = m.execute;
  if (e.script_file !== undefined && e.script_file !== null) {
    ctx.addIssue({
      code: 'custom',
      path: ['execute', 'script_file'],
      message: 'script_file is inlined by the CLI before upload; send the script inline or use script_object',
    });
  }
  const inline = typeof e.script === 'string' && e.script.length > 0;
  const object = typeof e.script_object === 'string' && e.script_object.length > 0;
  if (inline && object) {
    ctx.addIssue({
      code: 'custom',
      path: ['execute'],
      message: 'only one of execute.script and execute.script_object may be set',
    });
  } else if (!inline && !object && !e.script_file) {
    ctx.addIssue({
      code: 'custom',
      path: ['execute', 'script'],
      message: 'one of execute.script and execute.script_object must be set',
    });
  }
  if (m.emit && (m.inventory || m.check || m.collect || m.feed?.length)) {
    ctx.addIssue({
      code: 'custom',
      path: ['emit'],
      message: 'emit (NDJSON stdout) cannot be combined with inventory, check, collect or feed',
    });
  }
  if (m.finalize?.on_each_bundle && !m.collect) {
    ctx.addIssue({
      code: 'custom',
      path: ['finalize', 'on_each_bundle'],
      message: 'on_each_bundle needs a collect hint',
    });
  }
  if (m.tier === 'unknown') {
    ctx.addIssue({ code: 'custom', path: ['tier'], message: 'tier must be endpoint or controller' });
  }
}

function validatePlan(p: z.infer<typeof writer.FanoutPlan>, ctx: z.RefinementCtx) {
  const t = p.target;
  if (!p.rollout && !t.all && t.groups.length === 0 && t.pcs.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['target'],
      message: 'target must set at least one of all, groups or pcs (or give rollout.waves)',
    });
  }
}

/** Writer schema of a job manifest: unknown keys rejected, cross-field rules checked. */
export const Manifest = writer.Manifest.superRefine(validateManifest);
export type Manifest = z.infer<typeof writer.Manifest>;
/** Reader schema for manifests already in the `jobs` bucket (unknown keys stripped). */
export const ManifestRecord = reader.Manifest;

/** Writer schema of the exec request body. */
export const FanoutPlan = writer.FanoutPlan.superRefine(validatePlan);
export type FanoutPlan = z.infer<typeof writer.FanoutPlan>;
export const Target = writer.Target;
export type Target = z.infer<typeof writer.Target>;
export const Rollout = writer.Rollout;
export type Rollout = z.infer<typeof writer.Rollout>;
export const Wave = writer.Wave;
export type Wave = z.infer<typeof writer.Wave>;

/** JSON Schema (draft 2020-12) of a manifest as an author writes it, for editors and `/api/schemas/manifest.json`. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    title: 'Manifest',
    description:
      'kanade job manifest (the `jobs` KV value). Durations are humantime strings such as 30s or 5m.',
    ...z.toJSONSchema(writer.Manifest, { io: 'input', target: 'draft-2020-12' }),
  };
}

/** Seconds of a validated humantime string (whole seconds, as upstream's `as_secs`). */
export function durationSecs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new RangeError(`not a duration: ${text}`);
  return Math.floor(ms / 1000);
}
