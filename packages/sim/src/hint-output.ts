// What virtual agents print when they run a job that carries an
// `inventory:` or `check:` hint, so the Inventory and Compliance pages have
// realistic data. The manifest comes from the `jobs` bucket (one watch for
// the whole simulator; Commands do not carry the inventory hint).
//
// - Inventory: one JSON object. Top-level fields named by the hint (display,
//   summary, history_scalars) get values by their name (hostname, os_version,
//   ram_gb, cpu_model, ...; anything else a stable made-up value), and each
//   explode array gets elements whose columns are filled by name and type.
//   Arrays named like software draw from an application catalog. Every agent
//   keeps a scan counter per job, and each scan moves a little: some apps
//   get a new version, a few are installed or removed, the OS build moves
//   now and then, so repeated runs produce an inventory history.
// - Check: {status, detail} under the hint's field names, mostly ok with a
//   few warn / fail / unknown, changing from scan to scan for some agents.
// - A job with both hints fences each payload (#KANADE-<KIND>-BEGIN/END).
// Everything is derived from (seed, agent, scan) with hash32, so no per-agent
// state exists beyond the scan counters (4 bytes an agent per such job).

import { type Command, KV, ManifestRecord } from '@kanade/wire';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import { type Fleet, GIB, hostnameOf, osFamilyOf } from './fleet.js';
import { hash32 } from './rng.js';

type Manifest = z.infer<typeof ManifestRecord>;
type Inventory = NonNullable<Manifest['inventory']>;
type Explode = NonNullable<Inventory['explode']>[number];
type Check = NonNullable<Manifest['check']>;

const RETRY_MS = 5000;

const APPS: readonly [string, string][] = [
  ['Google Chrome', 'Google LLC'],
  ['Microsoft Edge', 'Microsoft Corporation'],
  ['Mozilla Firefox', 'Mozilla'],
  ['7-Zip', 'Igor Pavlov'],
  ['Adobe Acrobat Reader', 'Adobe Inc.'],
  ['Microsoft Teams', 'Microsoft Corporation'],
  ['Zoom Workplace', 'Zoom Video Communications'],
  ['Slack', 'Slack Technologies'],
  ['Visual Studio Code', 'Microsoft Corporation'],
  ['Notepad++', 'Notepad++ Team'],
  ['VLC media player', 'VideoLAN'],
  ['Git', 'The Git Development Community'],
  ['Python 3.12', 'Python Software Foundation'],
  ['Node.js', 'OpenJS Foundation'],
  ['Java Runtime Environment', 'Oracle Corporation'],
  ['PuTTY', 'Simon Tatham'],
  ['WinSCP', 'Martin Prikryl'],
  ['KeePass', 'Dominik Reichl'],
  ['Microsoft 365 Apps', 'Microsoft Corporation'],
  ['OneDrive', 'Microsoft Corporation'],
  ['Webex', 'Cisco Systems'],
  ['Docker Desktop', 'Docker Inc.'],
  ['Postman', 'Postman Inc.'],
  ['GIMP', 'The GIMP Team'],
  ['LibreOffice', 'The Document Foundation'],
  ['Wireshark', 'The Wireshark developer community'],
  ['TeamViewer', 'TeamViewer Germany GmbH'],
  ['Citrix Workspace', 'Citrix Systems'],
  ['FortiClient VPN', 'Fortinet'],
  ['CrowdStrike Falcon Sensor', 'CrowdStrike'],
];
const CPUS = [
  'Intel(R) Core(TM) i5-1135G7',
  'Intel(R) Core(TM) i7-1265U',
  'AMD Ryzen 5 PRO 5650U',
  'Apple M2',
];
const OS_BUILDS: Record<string, readonly string[]> = {
  windows: ['10.0.19045', '10.0.22631', '10.0.26100'],
  linux: ['22.04', '24.04'],
  macos: ['14.6', '15.1'],
};

/** A stable pseudo-random integer in [0, n) for a tuple of integers. */
function h(n: number, ...xs: number[]): number {
  let v = 0x2545f491;
  for (const x of xs) v = hash32(v, x);
  return v % n;
}

function strHash(s: string): number {
  let v = 7;
  for (let i = 0; i < s.length; i++) v = hash32(v, s.charCodeAt(i));
  return v;
}

/** The value of a top-level fact, chosen by its field name. */
function scalar(field: string, f: Fleet, i: number, scan: number): unknown {
  const name = field.toLowerCase();
  const os = osFamilyOf(f, i);
  if (name === 'hostname' || name === 'computer_name' || name === 'host') return hostnameOf(f, i);
  if (name.includes('os') && (name.includes('version') || name.includes('build'))) {
    const builds = OS_BUILDS[os]!;
    // Every agent upgrades once somewhere in its first 40 scans.
    const upgraded = scan > 1 + h(40, f.seed, i, 1);
    return builds[Math.min(builds.length - 1, h(builds.length - 1, f.seed, i) + (upgraded ? 1 : 0))];
  }
  if (name === 'os' || name === 'os_name' || name === 'os_family') return os;
  if (name.startsWith('ram') || name.startsWith('mem')) {
    return name.includes('bytes') ? f.memTotalGiB[i]! * GIB : f.memTotalGiB[i]!;
  }
  if (name.includes('cpu') && (name.includes('core') || name.includes('count'))) return f.cpuCount[i]!;
  if (name.includes('cpu')) return CPUS[h(CPUS.length, f.seed, i, 2)];
  if (name.includes('serial')) return `SN${h(1_000_000_000, f.seed, i, 3)}`;
  if (name.includes('model'))
    return ['Latitude 5440', 'ThinkPad T14', 'EliteBook 840', 'MacBook Air'][h(4, f.seed, i, 4)];
  return `${field}-${h(10, f.seed, i, strHash(field))}`;
}

function isSoftware(spec: Explode): boolean {
  return /soft|app|program|package|install/i.test(`${spec.field} ${spec.table}`);
}

/** Elements of one explode array for agent `i` at scan `scan`. */
function elements(spec: Explode, f: Fleet, i: number, scan: number): Record<string, unknown>[] {
  const software = isSoftware(spec);
  const out: Record<string, unknown>[] = [];
  const count = software ? APPS.length : 2 + h(4, f.seed, i, strHash(spec.field));
  for (let j = 0; j < count; j++) {
    if (software) {
      const base = h(100, f.seed, i, j) < 55 || j < 3;
      // One app in ten comes and goes every few scans.
      const churns = h(10, f.seed, j) === 0;
      const present = churns ? Math.floor((scan + h(4, i, j)) / 3) % 2 === 0 : base;
      if (!present) continue;
    }
    const el: Record<string, unknown> = {};
    for (const c of spec.columns) el[c.field] = column(c.field, c.type, j, f, i, scan, software);
    out.push(el);
  }
  return out;
}

function column(
  field: string,
  type: string | null | undefined,
  j: number,
  f: Fleet,
  i: number,
  scan: number,
  software: boolean,
): unknown {
  const name = field.toLowerCase();
  const app = APPS[j % APPS.length]!;
  if (software && (name === 'name' || name.includes('display') || name === 'product')) return app[0];
  if (software && (name.includes('publisher') || name.includes('vendor'))) return app[1];
  if (name.includes('version')) {
    // Apps update now and then: the minor version steps every 2..9 scans, differently per PC.
    const every = 2 + h(8, f.seed, j);
    return `${1 + h(120, j)}.${Math.floor((scan + h(every, i, j)) / every)}.${h(10, j, 5)}`;
  }
  if (name.includes('size') || name.includes('bytes') || name.endsWith('_mb')) {
    return 1 + h(2000, j, name.includes('bytes') ? 7 : 3);
  }
  if (name.includes('date') || name.endsWith('_on') || name.endsWith('_at')) {
    return new Date(Date.UTC(2025, 0, 1) + h(500, f.seed, i, j) * 86_400_000).toISOString().slice(0, 10);
  }
  if (name.includes('arch')) return ['x64', 'arm64'][h(10, j) === 0 ? 1 : 0];
  if (name === 'name' || name.includes('id') || name.includes('device')) return `${field}-${j}`;
  if (type === 'integer') return h(1000, f.seed, i, j, strHash(field));
  if (type === 'real') return h(100_000, f.seed, i, j) / 100;
  return `${field}-${j}-${h(5, f.seed, i, j, scan >> 3)}`;
}

function checkOf(hint: Check, f: Fleet, i: number, scan: number): Record<string, unknown> {
  const roll = h(1000, f.seed, i, strHash(hint.name), Math.floor(scan / 2));
  const status = roll < 850 ? 'ok' : roll < 930 ? 'warn' : roll < 985 ? 'fail' : 'unknown';
  const detail = {
    ok: 'compliant',
    warn: `${hint.label ?? hint.name}: attention needed (${5 + (roll % 20)}% margin left)`,
    fail: `${hint.label ?? hint.name}: not compliant`,
    unknown: 'could not determine the state',
  }[status];
  return { [hint.status_field]: status, [hint.detail_field]: detail };
}

/** The stdout of one run of a hinted job by agent `i`, at its `scan`-th run of that job. */
export function hintOutput(m: Manifest, f: Fleet, i: number, scan: number): string {
  const parts: [string, string][] = [];
  if (m.inventory) {
    const facts: Record<string, unknown> = {};
    const names = [
      ...m.inventory.display.map((d) => d.field),
      ...(m.inventory.summary ?? []).map((d) => d.field),
      ...(m.inventory.history_scalars ?? []),
    ];
    for (const n of names)
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) && !(n in facts)) facts[n] = scalar(n, f, i, scan);
    for (const spec of m.inventory.explode ?? []) facts[spec.field] = elements(spec, f, i, scan);
    parts.push(['INVENTORY', JSON.stringify(facts)]);
  }
  if (m.check) parts.push(['CHECK', JSON.stringify(checkOf(m.check, f, i, scan))]);
  if (parts.length === 1) return `${parts[0]![1]}\n`;
  return parts.map(([k, body]) => `#KANADE-${k}-BEGIN\n${body}\n#KANADE-${k}-END\n`).join('');
}

export interface HintOutputs {
  /** The output function of a command's job, or undefined when the job has no inventory / check hint. */
  forCommand(cmd: Command): Promise<((agent: number) => string) | undefined>;
  stop(): void;
}

export function createHintOutputs(
  nc: NatsConnection,
  fleet: Fleet,
  log: (line: string) => void,
): HintOutputs {
  const manifests = new Map<string, Manifest>();
  const scans = new Map<string, Uint32Array>();
  let stopped = false;
  let stopWatch: (() => void) | undefined;

  const decode = (value: Uint8Array): Manifest | undefined => {
    try {
      const r = ManifestRecord.safeParse(JSON.parse(new TextDecoder().decode(value)));
      return r.success ? r.data : undefined;
    } catch {
      return undefined;
    }
  };

  void (async () => {
    while (!stopped) {
      try {
        const kv = await new Kvm(nc).open(KV.JOBS);
        const it = await kv.watch();
        stopWatch = () => it.stop();
        for await (const e of it) {
          const m = e.operation === 'PUT' ? decode(e.value) : undefined;
          if (m) manifests.set(e.key, m);
          else manifests.delete(e.key);
        }
      } catch (err) {
        if (!stopped) log(`watching jobs: ${(err as Error).message}; retrying in ${RETRY_MS / 1000}s`);
      }
      if (!stopped) await new Promise((r) => setTimeout(r, RETRY_MS).unref());
    }
  })();

  return {
    async forCommand(cmd) {
      let m = manifests.get(cmd.id);
      if (!m) {
        try {
          const e = await (await new Kvm(nc).open(KV.JOBS)).get(cmd.id);
          m = e?.operation === 'PUT' ? decode(e.value) : undefined;
        } catch {
          m = undefined;
        }
      }
      if (!m || (!m.inventory && !m.check)) return undefined;
      const manifest = m;
      let counter = scans.get(cmd.id);
      if (!counter) {
        counter = new Uint32Array(fleet.size);
        scans.set(cmd.id, counter);
      }
      const c = counter;
      return (agent) => {
        c[agent] = c[agent]! + 1;
        return hintOutput(manifest, fleet, agent, c[agent]!);
      };
    },
    stop() {
      stopped = true;
      stopWatch?.();
    },
  };
}
