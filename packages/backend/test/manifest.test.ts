// The job manifest and FanoutPlan schemas of @kanade/wire: upstream's shapes
// are accepted (hints included, with upstream's defaults filled in), writers
// reject unknown keys and bad durations at any depth with the path named,
// readers tolerate what a newer upstream adds, and the JSON Schema is
// generated from the same definition.
import { FanoutPlan, Manifest, ManifestRecord, manifestJsonSchema } from '@kanade/wire';
import { describe, expect, it } from 'vitest';

const minimal = {
  id: 'echo-test',
  version: '0.0.1',
  execute: { shell: 'powershell', script: "echo 'kanade'", timeout: '30s' },
};

/** A manifest using every hint, shaped like upstream's docs/schemas/job.schema.json. */
const full = {
  id: 'inventory.hw',
  version: '1.2.0',
  description: 'hardware facts',
  require_approval: false,
  tags: ['inventory', 'windows'],
  tier: 'endpoint',
  origin: { path: 'configs/jobs/hw.yaml', repo: 'git@example.com:ops.git' },
  staleness: { mode: 'strict', max_cache_age: '5m' },
  execute: {
    shell: 'pwsh',
    script_object: 'hw/1.2.0',
    timeout: '10m',
    run_as: 'system_gui',
    cwd: 'C:\\Temp',
  },
  inventory: {
    display: [
      {
        field: 'disks',
        label: 'Disks',
        type: 'table',
        columns: [{ field: 'size', label: 'Size', type: 'bytes' }],
      },
    ],
    summary: [{ field: 'hostname', label: 'Host' }],
    explode: [
      {
        field: 'apps',
        table: 'inventory_sw_apps',
        primary_key: ['name'],
        columns: [
          { field: 'name', index: true },
          { field: 'version', type: 'text' },
        ],
        track_history: true,
      },
    ],
    history_scalars: ['ram_bytes'],
  },
  check: {
    name: 'disk_space',
    label: 'Disk space',
    alert: { on: ['fail', 'warn'], notify_groups: ['desk'], title: '{pc_id}: {status}' },
  },
  client: {
    name: 'Collect logs',
    category: 'troubleshoot',
    visible_to: { groups: ['pilot'] },
    show_when: { check: 'disk_space', is: 'fail' },
    confirm: { message: 'Sure?' },
  },
  collect: { name: 'Logs', max_size: '50MB' },
  finalize: { shell: 'powershell', script: 'Remove-Item $env:TEMP\\x', on_each_bundle: true },
  aggregate: [
    {
      dashboard: 'Usage',
      title: 'Top apps',
      render: 'bar',
      kind: 'app_sample',
      agg: 'count',
      group_by: 'app',
    },
  ],
};

function issues(r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) {
  return (r.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('Manifest (writer)', () => {
  it('accepts upstream’s minimal manifest and fills upstream’s defaults', () => {
    expect(Manifest.parse(minimal)).toEqual({
      ...minimal,
      execute: { ...minimal.execute, run_as: 'system' },
      require_approval: false,
      staleness: { mode: 'cached' },
    });
  });

  it('accepts every hint in upstream’s shapes', () => {
    const m = Manifest.parse(full);
    expect(m.check).toMatchObject({
      status_field: 'status',
      detail_field: 'detail',
      fleet: true,
      health: true,
    });
    expect(m.check?.alert).toMatchObject({ priority: 'warn', notify_user: false });
    expect(m.collect?.files_field).toBe('files');
    expect(m.finalize).toMatchObject({ timeout: '60s', run_as: 'system' });
    expect(m.aggregate?.[0]?.scope).toBe('pc');
  });

  it('rejects unknown keys at any depth, naming the path', () => {
    expect(issues(Manifest.safeParse({ ...minimal, target: { all: true } }))).toEqual([
      ': Unrecognized key: "target"',
    ]);
    expect(issues(Manifest.safeParse({ ...full, check: { ...full.check, severity: 1 } }))).toEqual([
      'check: Unrecognized key: "severity"',
    ]);
    const deep = structuredClone(full);
    (deep.inventory.explode[0]!.columns[0] as Record<string, unknown>).indexed = true;
    expect(issues(Manifest.safeParse(deep))).toEqual([
      'inventory.explode.0.columns.0: Unrecognized key: "indexed"',
    ]);
  });

  it('validates durations and the script source rules', () => {
    const bad = (execute: object) =>
      issues(Manifest.safeParse({ ...minimal, execute: { ...minimal.execute, ...execute } }));
    expect(bad({ timeout: '0s' })[0]).toMatch(/^execute\.timeout: expected a duration of at least 1s/);
    expect(bad({ timeout: 'ten minutes' })[0]).toMatch(/^execute\.timeout/);
    expect(bad({ timeout: '1h30m' })).toEqual([]);
    expect(bad({ script: '' })).toEqual([
      'execute.script: one of execute.script and execute.script_object must be set',
    ]);
    expect(bad({ script_object: 'a/1' })[0]).toMatch(/only one of/);
    expect(bad({ script_file: 'x.ps1', script: undefined })[0]).toMatch(
      /^execute\.script_file: script_file is inlined/,
    );
    expect(
      issues(Manifest.safeParse({ ...minimal, staleness: { mode: 'strict', max_cache_age: 'soon' } }))[0],
    ).toMatch(/^staleness\.max_cache_age/);
    expect(
      issues(Manifest.safeParse({ ...minimal, emit: { type: 'events' }, check: { name: 'c' } }))[0],
    ).toMatch(/^emit: emit .* cannot be combined/);
    expect(issues(Manifest.safeParse({ ...minimal, id: 'a b' }))[0]).toMatch(/^id:/);
  });
});

describe('ManifestRecord (reader)', () => {
  it('tolerates unknown fields a newer upstream writes, and strips them', () => {
    const r = ManifestRecord.parse({
      ...minimal,
      future: { x: 1 },
      execute: { ...minimal.execute, sandbox: true },
    });
    expect(r).not.toHaveProperty('future');
    expect(r.execute).not.toHaveProperty('sandbox');
  });
});

describe('FanoutPlan', () => {
  it('accepts upstream’s plans and the abort-on-failure extension', () => {
    expect(FanoutPlan.parse({ target: { all: true } })).toEqual({
      target: { all: true, groups: [], pcs: [] },
    });
    const p = FanoutPlan.parse({
      target: { groups: ['canary', 'wave1'] },
      jitter: '30s',
      deadline_at: '2026-06-10T09:00:00+09:00',
      rollout: {
        strategy: 'wave',
        waves: [
          { group: 'canary', delay: '0s' },
          { group: 'wave1', delay: '5m' },
        ],
        abort_on_failure_pct: 20,
      },
    });
    expect(p.rollout?.abort_on_failure_pct).toBe(20);
  });

  it('rejects empty targets, bad tokens, durations, times and unknown keys', () => {
    expect(issues(FanoutPlan.safeParse({}))[0]).toMatch(/^target: target must set/);
    expect(issues(FanoutPlan.safeParse({ target: { pcs: ['a*'] } }))[0]).toMatch(/^target\.pcs\.0:/);
    expect(issues(FanoutPlan.safeParse({ target: { all: true }, jitter: '-1s' }))[0]).toMatch(/^jitter:/);
    expect(
      issues(FanoutPlan.safeParse({ target: { all: true }, deadline_at: '2026-13-01T00:00:00Z' }))[0],
    ).toMatch(/^deadline_at:/);
    expect(
      issues(
        FanoutPlan.safeParse({
          target: { all: true },
          rollout: { waves: [{ group: 'g', delay: '1s', x: 1 }] },
        }),
      ),
    ).toEqual(['rollout.waves.0: Unrecognized key: "x"']);
  });
});

describe('manifestJsonSchema', () => {
  it('describes the writer: required fields, no extra keys, hints as optional objects', () => {
    const s = manifestJsonSchema() as {
      $schema: string;
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { required?: string[]; properties?: Record<string, { enum?: string[] }> }>;
    };
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.required).toEqual(['id', 'version', 'execute']);
    expect(s.additionalProperties).toBe(false);
    expect(s.properties.execute!.required).toEqual(['shell', 'timeout']);
    expect(s.properties.execute!.properties!.shell!.enum).toEqual(['powershell', 'cmd', 'sh', 'pwsh']);
    expect(JSON.stringify(s.properties.inventory)).toContain('display');
  });
});
