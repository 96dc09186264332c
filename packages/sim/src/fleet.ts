// The simulated fleet: identity and slowly changing telemetry of N virtual
// agents, kept in one typed array per field (about 60 bytes an agent, so
// 100k agents fit in a few MB and never touch the GC). Names (pc_id,
// hostname, user) are derived from the agent index and the seed when a
// message is rendered instead of being stored as 100k strings.
//
// Mix of the fleet: mostly Windows on the newest agent version, some Linux
// and macOS, a tail of older versions, as a managed office fleet looks.

import { createRng, hash32, noise, pickWeighted, type Rng } from './rng.js';

export const OS_FAMILIES = ['windows', 'linux', 'macos'] as const;
export type OsFamily = (typeof OS_FAMILIES)[number];
const OS_WEIGHTS = [0.7, 0.85, 1];

export const AGENT_VERSIONS = ['0.43.45', '0.43.44', '0.42.10', '0.41.3'] as const;
const VERSION_WEIGHTS = [0.8, 0.9, 0.96, 1];

const CPU_COUNTS = [2, 4, 8, 12, 16, 32];
const CPU_COUNT_WEIGHTS = [0.05, 0.35, 0.75, 0.88, 0.97, 1];
const MEM_GIB = [4, 8, 16, 32, 64];
const MEM_WEIGHTS = [0.05, 0.35, 0.8, 0.96, 1];
const SWAP_GIB = [0, 2, 4, 8];
const SWAP_WEIGHTS = [0.15, 0.5, 0.8, 1];

export const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

const FIRST_NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const LAST_NAMES = [
  'sato',
  'suzuki',
  'takahashi',
  'tanaka',
  'ito',
  'smith',
  'jones',
  'brown',
  'garcia',
  'miller',
];
/** Share of machines with nobody logged on (kiosks, servers, freshly booted PCs). */
const NO_USER_SHARE = 0.06;

/** Prefixes become part of pc_ids and subjects and are written into JSON unescaped. */
const PREFIX_RE = /^[A-Za-z0-9_-]{1,32}$/;

export interface FleetOptions {
  agents: number;
  seed?: number;
  /** pc_ids are `<prefix>-000001`...; letters, digits, `_` and `-` only. */
  prefix?: string;
}

export interface Fleet {
  readonly size: number;
  readonly prefix: string;
  readonly seed: number;
  readonly os: Uint8Array;
  readonly version: Uint8Array;
  readonly cpuCount: Uint8Array;
  readonly memTotalGiB: Uint8Array;
  readonly swapTotalGiB: Uint8Array;
  /** Bit 0: the first heartbeat has been sent (upstream sends agent_cpu_pct null on the first). */
  readonly flags: Uint8Array;
  readonly cpuBase: Float32Array;
  readonly cpuPct: Float32Array;
  readonly memFrac: Float32Array;
  readonly swapFrac: Float32Array;
  readonly diskScale: Float32Array;
  readonly netScale: Float32Array;
  /** NaN until the second heartbeat. */
  readonly agentCpuPct: Float32Array;
  readonly agentRss: Float32Array;
  readonly agentDiskRead: Float64Array;
  readonly agentDiskWritten: Float64Array;
  readonly rng: Rng;
}

export function createFleet(opts: FleetOptions): Fleet {
  const n = opts.agents;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`agents must be a positive integer, got ${n}`);
  const prefix = opts.prefix ?? 'sim';
  if (!PREFIX_RE.test(prefix))
    throw new RangeError(`prefix must match ${PREFIX_RE}, got ${JSON.stringify(prefix)}`);
  const seed = (opts.seed ?? 1) >>> 0;
  const rng = createRng(seed);
  const f: Fleet = {
    size: n,
    prefix,
    seed,
    rng,
    os: new Uint8Array(n),
    version: new Uint8Array(n),
    cpuCount: new Uint8Array(n),
    memTotalGiB: new Uint8Array(n),
    swapTotalGiB: new Uint8Array(n),
    flags: new Uint8Array(n),
    cpuBase: new Float32Array(n),
    cpuPct: new Float32Array(n),
    memFrac: new Float32Array(n),
    swapFrac: new Float32Array(n),
    diskScale: new Float32Array(n),
    netScale: new Float32Array(n),
    agentCpuPct: new Float32Array(n).fill(Number.NaN),
    agentRss: new Float32Array(n),
    agentDiskRead: new Float64Array(n),
    agentDiskWritten: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    f.os[i] = pickWeighted(rng, OS_WEIGHTS);
    f.version[i] = pickWeighted(rng, VERSION_WEIGHTS);
    f.cpuCount[i] = CPU_COUNTS[pickWeighted(rng, CPU_COUNT_WEIGHTS)]!;
    f.memTotalGiB[i] = MEM_GIB[pickWeighted(rng, MEM_WEIGHTS)]!;
    const swap = SWAP_GIB[pickWeighted(rng, SWAP_WEIGHTS)]!;
    // Windows always has a page file.
    f.swapTotalGiB[i] = f.os[i] === 0 ? Math.max(2, swap) : swap;
    // Most PCs idle around a few percent; a few are busy all day.
    const base = 2 + 40 * rng() ** 3;
    f.cpuBase[i] = base;
    f.cpuPct[i] = base;
    f.memFrac[i] = 0.3 + 0.5 * rng();
    f.swapFrac[i] = 0.2 * rng();
    f.diskScale[i] = 20_000 + 2_000_000 * rng() ** 2;
    f.netScale[i] = 5_000 + 1_000_000 * rng() ** 3;
    f.agentRss[i] = 30 * MIB + 30 * MIB * rng();
    f.agentDiskRead[i] = Math.floor(5 * MIB * rng());
    f.agentDiskWritten[i] = Math.floor(20 * MIB * rng());
  }
  return f;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), hi);
}

/** Moves the agent's own process values on by one heartbeat of `dtSec` seconds. */
export function stepAgent(f: Fleet, i: number, dtSec: number): void {
  const r = f.rng;
  if (f.flags[i]! & 1) {
    // Mostly idle; now and then it is running a job.
    f.agentCpuPct[i] = r() < 0.03 ? 5 + 25 * r() : 0.05 + 1.5 * r() * r();
  } else {
    f.flags[i] = f.flags[i]! | 1;
  }
  f.agentRss[i] = clamp(f.agentRss[i]! + noise(r) * MIB, 20 * MIB, 160 * MIB);
  f.agentDiskRead[i] = f.agentDiskRead[i]! + Math.floor(r() * 20_000 * dtSec);
  f.agentDiskWritten[i] = f.agentDiskWritten[i]! + Math.floor(r() * 60_000 * dtSec);
}

/** Moves the host's values on by one sample: CPU is a mean-reverting random walk with rare spikes. */
export function stepHost(f: Fleet, i: number): void {
  const r = f.rng;
  let cpu = f.cpuPct[i]!;
  cpu += (f.cpuBase[i]! - cpu) * 0.3 + noise(r) * 4;
  if (r() < 0.02) cpu += 60 * r();
  f.cpuPct[i] = clamp(cpu, 0, 100);
  f.memFrac[i] = clamp(f.memFrac[i]! + noise(r) * 0.01, 0.15, 0.97);
  f.swapFrac[i] = clamp(f.swapFrac[i]! + noise(r) * 0.005, 0, 0.9);
}

export function pcIdOf(f: Fleet, i: number): string {
  return `${f.prefix}-${String(i + 1).padStart(6, '0')}`;
}

export function osFamilyOf(f: Fleet, i: number): OsFamily {
  return OS_FAMILIES[f.os[i]!]!;
}

export function agentVersionOf(f: Fleet, i: number): string {
  return AGENT_VERSIONS[f.version[i]!]!;
}

/** Unique per index for a given seed: hash32 is a bijection of the index. */
export function hostnameOf(f: Fleet, i: number): string {
  const code = hash32(f.seed, i).toString(36).padStart(7, '0');
  switch (f.os[i]) {
    case 0:
      return `DESKTOP-${code.toUpperCase()}`;
    case 1:
      return `lnx-${code}`;
    default:
      return `MacBook-${code}`;
  }
}

export function lastLogonUserOf(f: Fleet, i: number): string | null {
  const h = hash32(f.seed ^ 0x5bd1e995, i);
  if (h / 4294967296 < NO_USER_SHARE) return null;
  return `${FIRST_NAMES[(h >>> 8) % FIRST_NAMES.length]}.${LAST_NAMES[(h >>> 16) % LAST_NAMES.length]}`;
}
