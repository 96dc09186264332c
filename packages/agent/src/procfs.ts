// Pure parsers of the Linux /proc files the agent samples. No I/O here, so
// each rule is unit-tested against fixture text; host-counters.ts does the
// reading. Every parser tolerates missing or malformed lines (a field it
// cannot find is undefined) because /proc formats vary across kernels.
//
// Which block devices count as "disk I/O" (isWholeDisk): physical whole disks
// only. Partitions are left out because their I/O is already counted on their
// disk; loop, ram, zram, dm-*, md*, nbd*, sr* and fd* are left out because they
// are either not disks or sit on top of disks already counted (LVM, RAID,
// dm-crypt), which would double the figure. The rule goes by kernel device
// name rather than /sys/block so it stays pure; an unknown name counts as a disk.
// /proc/diskstats always counts 512-byte sectors, whatever the hardware uses.

export interface CpuTimes {
  /** Jiffies spent doing anything but idle/iowait, summed over all CPUs. */
  busy: number;
  total: number;
}

export interface ProcStat {
  cpu: CpuTimes;
  /** Number of `cpuN` lines: the CPUs online. */
  cpuCount: number;
}

/** `/proc/stat`: the aggregate `cpu` line (user nice system idle iowait irq softirq steal ...). */
export function parseProcStat(text: string): ProcStat | undefined {
  let cpu: CpuTimes | undefined;
  let cpuCount = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const f = line.trim().split(/\s+/);
    if (f[0] === 'cpu') {
      // guest and guest_nice are already included in user and nice.
      const v = f.slice(1, 9).map(Number);
      if (v.length < 4 || v.some((x) => !Number.isFinite(x))) return undefined;
      const total = v.reduce((a, b) => a + b, 0);
      const idle = v[3]! + (v[4] ?? 0);
      cpu = { busy: total - idle, total };
    } else if (/^cpu\d+$/.test(f[0]!)) {
      cpuCount++;
    }
  }
  return cpu ? { cpu, cpuCount } : undefined;
}

export interface MemInfo {
  memTotal?: number;
  memUsed?: number;
  swapTotal?: number;
  swapUsed?: number;
}

/**
 * `/proc/meminfo` in bytes. Used memory is MemTotal - MemAvailable (what
 * `free` calls used: page cache that can be dropped is not in use); kernels
 * older than 3.14 lack MemAvailable, so MemFree + Buffers + Cached stands in.
 */
export function parseMeminfo(text: string): MemInfo {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) kb.set(m[1]!, Number(m[2]) * 1024);
  }
  const out: MemInfo = {};
  const total = kb.get('MemTotal');
  if (total !== undefined) {
    out.memTotal = total;
    const available =
      kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0);
    out.memUsed = Math.max(0, total - available);
  }
  const swapTotal = kb.get('SwapTotal');
  const swapFree = kb.get('SwapFree');
  if (swapTotal !== undefined && swapFree !== undefined) {
    out.swapTotal = swapTotal;
    out.swapUsed = Math.max(0, swapTotal - swapFree);
  }
  return out;
}

export interface IoCounters {
  readBytes: number;
  writtenBytes: number;
}

const VIRTUAL_DEVICE_RE = /^(loop|ram|zram|dm-|md|nbd|sr|fd)/;
const PARTITION_RE = /^((sd|hd|vd|xvd)[a-z]+\d+|(nvme\d+n\d+|mmcblk\d+)p\d+|mmcblk\d+(boot\d+|rpmb))$/;

export function isWholeDisk(name: string): boolean {
  return !VIRTUAL_DEVICE_RE.test(name) && !PARTITION_RE.test(name);
}

/** `/proc/diskstats`: bytes read and written, summed over whole physical disks. */
export function parseDiskstats(text: string): IoCounters {
  let readBytes = 0;
  let writtenBytes = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !isWholeDisk(f[2]!)) continue;
    const sectorsRead = Number(f[5]);
    const sectorsWritten = Number(f[9]);
    if (!Number.isFinite(sectorsRead) || !Number.isFinite(sectorsWritten)) continue;
    readBytes += sectorsRead * 512;
    writtenBytes += sectorsWritten * 512;
  }
  return { readBytes, writtenBytes };
}

export interface NetCounters {
  rxBytes: number;
  txBytes: number;
}

/**
 * `/proc/net/dev`: bytes received and sent over every interface but loopback.
 * Bridges and veth pairs of local containers are counted as they are; on a
 * container host that counts the containers' traffic twice, which upstream's
 * agent does too.
 */
export function parseNetDev(text: string): NetCounters {
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    const rx = Number(f[0]);
    const tx = Number(f[8]);
    if (f.length < 9 || !Number.isFinite(rx) || !Number.isFinite(tx)) continue;
    rxBytes += rx;
    txBytes += tx;
  }
  return { rxBytes, txBytes };
}

/** `/proc/self/io`: bytes this process caused to be read from / written to storage. */
export function parseProcIo(text: string): IoCounters | undefined {
  const read = /^read_bytes:\s*(\d+)/m.exec(text);
  const written = /^write_bytes:\s*(\d+)/m.exec(text);
  if (!read || !written) return undefined;
  return { readBytes: Number(read[1]), writtenBytes: Number(written[1]) };
}
