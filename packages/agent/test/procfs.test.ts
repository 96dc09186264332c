import { describe, expect, it } from 'vitest';
import {
  isWholeDisk,
  parseDiskstats,
  parseMeminfo,
  parseNetDev,
  parseProcIo,
  parseProcStat,
} from '../src/procfs.js';

const PROC_STAT = `cpu  14286 10 1264 57732 128 0 102 87 5 0
cpu0 3069 5 647 32918 84 0 49 40 0 0
cpu1 11216 5 616 24814 43 0 53 47 5 0
intr 252898 0 0 0
ctxt 446720
btime 1764500000
processes 2110
`;

const MEMINFO = `MemTotal:       24731708 kB
MemFree:        23583480 kB
MemAvailable:   24417824 kB
Buffers:           12000 kB
Cached:           500000 kB
SwapCached:            0 kB
Active(anon):      10000 kB
SwapTotal:       2097148 kB
SwapFree:        1048576 kB
HugePages_Total:       0
`;

const DISKSTATS = `   7       0 loop0 100 0 800 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   8       0 sda 7133 4162 1000 2777 2101 15711 2000 3085 0 1732 5991 3222 8 77400 127 52 1
   8       1 sda1 7000 4000 900 2700 2000 15000 1900 3000 0 1700 5900 0 0 0 0 0 0
 259       0 nvme0n1 10 0 4000 1 10 0 8000 1 0 1 2 0 0 0 0 0 0
 259       1 nvme0n1p1 10 0 4000 1 10 0 8000 1 0 1 2 0 0 0 0 0 0
 179       0 mmcblk0 1 0 10 0 1 0 20 0 0 0 0
 179       1 mmcblk0p1 1 0 10 0 1 0 20 0 0 0 0
 179       8 mmcblk0boot0 1 0 10 0 1 0 20 0 0 0 0
 253       0 dm-0 5 0 9999 0 5 0 9999 0 0 0 0
   9       0 md0 5 0 9999 0 5 0 9999 0 0 0 0
 253       0 zram0 5 0 9999 0 5 0 9999 0 0 0 0
  11       0 sr0 5 0 9999 0 5 0 9999 0 0 0 0
`;

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 263527956   10784    0    0    0     0          0         0   726254    7043    0    0    0     0       0          0
wlan0:1000 1 0 0 0 0 0 0 2000 2 0 0 0 0 0 0
`;

describe('/proc/stat', () => {
  it('sums the aggregate cpu line into busy and total jiffies and counts CPUs', () => {
    const s = parseProcStat(PROC_STAT)!;
    const total = 14286 + 10 + 1264 + 57732 + 128 + 0 + 102 + 87;
    expect(s.cpu.total).toBe(total);
    expect(s.cpu.busy).toBe(total - 57732 - 128);
    expect(s.cpuCount).toBe(2);
  });

  it('copes with old kernels that print only four cpu columns', () => {
    expect(parseProcStat('cpu 1 2 3 4\ncpu0 1 2 3 4\n')).toEqual({
      cpu: { busy: 6, total: 10 },
      cpuCount: 1,
    });
  });

  it('returns undefined without an aggregate cpu line', () => {
    expect(parseProcStat('intr 1 2 3\n')).toBeUndefined();
    expect(parseProcStat('cpu x y z w\n')).toBeUndefined();
  });
});

describe('/proc/meminfo', () => {
  it('reports used memory as MemTotal - MemAvailable and swap as SwapTotal - SwapFree, in bytes', () => {
    expect(parseMeminfo(MEMINFO)).toEqual({
      memTotal: 24731708 * 1024,
      memUsed: (24731708 - 24417824) * 1024,
      swapTotal: 2097148 * 1024,
      swapUsed: (2097148 - 1048576) * 1024,
    });
  });

  it('falls back to MemFree + Buffers + Cached without MemAvailable', () => {
    const m = parseMeminfo(MEMINFO.replace(/^MemAvailable.*\n/m, ''));
    expect(m.memUsed).toBe((24731708 - 23583480 - 12000 - 500000) * 1024);
  });

  it('leaves out what the file does not have', () => {
    expect(parseMeminfo('')).toEqual({});
    expect(parseMeminfo('MemTotal: 1000 kB\nMemAvailable: 400 kB\n')).toEqual({
      memTotal: 1024000,
      memUsed: 614400,
    });
  });
});

describe('/proc/diskstats', () => {
  it('counts whole physical disks only', () => {
    for (const name of ['sda', 'vdb', 'xvda', 'hdc', 'nvme0n1', 'nvme1n2', 'mmcblk0'])
      expect(isWholeDisk(name)).toBe(true);
    for (const name of ['sda1', 'vda15', 'nvme0n1p1', 'mmcblk0p2', 'mmcblk0boot0', 'mmcblk0rpmb']) {
      expect(isWholeDisk(name)).toBe(false);
    }
    for (const name of ['loop0', 'ram0', 'zram0', 'dm-0', 'md127', 'nbd0', 'sr0', 'fd0'])
      expect(isWholeDisk(name)).toBe(false);
  });

  it('sums 512-byte sectors read (field 6) and written (field 10)', () => {
    expect(parseDiskstats(DISKSTATS)).toEqual({
      readBytes: (1000 + 4000 + 10) * 512,
      writtenBytes: (2000 + 8000 + 20) * 512,
    });
  });

  it('skips short or malformed lines', () => {
    expect(parseDiskstats('garbage\n 8 0 sda x 0 0 0 0 0 0 0\n')).toEqual({ readBytes: 0, writtenBytes: 0 });
  });
});

describe('/proc/net/dev', () => {
  it('sums rx and tx bytes of every interface except loopback', () => {
    expect(parseNetDev(NET_DEV)).toEqual({ rxBytes: 263527956 + 1000, txBytes: 726254 + 2000 });
  });
});

describe('/proc/self/io', () => {
  it('reads storage bytes, not rchar/wchar', () => {
    expect(
      parseProcIo(
        'rchar: 6976\nwchar: 10\nsyscr: 10\nsyscw: 0\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n',
      ),
    ).toEqual({ readBytes: 4096, writtenBytes: 8192 });
    expect(parseProcIo('rchar: 1\n')).toBeUndefined();
  });
});
