// Renders the fleet's state as upstream-shaped JSON (heartbeat, host_perf,
// process_perf). Bodies are built with template strings rather than
// JSON.stringify of a fresh object: every interpolated string is
// JSON-safe by construction (pc_ids, hostnames, users and versions come from
// fixed alphabets, `at` from toISOString), and this is the per-message hot
// path at 5,000 messages a second. The tests parse every body with the
// @kanade/wire schemas, which keeps the two in step.

import { agentVersionOf, type Fleet, GIB, hostnameOf, lastLogonUserOf, osFamilyOf } from './fleet.js';
import { hash32 } from './rng.js';

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** With `answersCommands`, the beat says the agent takes legacy Command bodies, as a real agent's does. */
export function heartbeatJson(
  f: Fleet,
  i: number,
  pcId: string,
  at: string,
  answersCommands = false,
): string {
  const cpu = f.agentCpuPct[i]!;
  const user = lastLogonUserOf(f, i);
  return (
    `{"pc_id":"${pcId}","at":"${at}","agent_version":"${agentVersionOf(f, i)}",` +
    `"hostname":"${hostnameOf(f, i)}","os_family":"${osFamilyOf(f, i)}",` +
    `"agent_cpu_pct":${Number.isNaN(cpu) ? 'null' : round2(cpu)},` +
    `"agent_rss_bytes":${Math.round(f.agentRss[i]!)},` +
    `"agent_disk_read_bytes":${f.agentDiskRead[i]},"agent_disk_written_bytes":${f.agentDiskWritten[i]},` +
    `"last_logon_user":${user === null ? 'null' : `"${user}"`}` +
    (answersCommands ? ',"command_protocols":["legacy"]}' : '}')
  );
}

/** Disk and network rates are drawn fresh for each sample around the agent's own scale. */
export function hostPerfJson(f: Fleet, i: number, pcId: string, at: string): string {
  const r = f.rng;
  const memTotal = f.memTotalGiB[i]! * GIB;
  const swapTotal = f.swapTotalGiB[i]! * GIB;
  const disk = f.diskScale[i]!;
  const net = f.netScale[i]!;
  return (
    `{"pc_id":"${pcId}","at":"${at}","cpu_pct":${round2(f.cpuPct[i]!)},"cpu_count":${f.cpuCount[i]},` +
    `"mem_used_bytes":${Math.round(f.memFrac[i]! * memTotal)},"mem_total_bytes":${memTotal},` +
    `"swap_used_bytes":${Math.round(f.swapFrac[i]! * swapTotal)},"swap_total_bytes":${swapTotal},` +
    `"disk_read_bytes_per_sec":${round2(disk * (0.05 + 3 * r() * r()))},` +
    `"disk_written_bytes_per_sec":${round2(disk * (0.05 + 2 * r() * r()))},` +
    `"net_rx_bytes_per_sec":${round2(net * (0.1 + 4 * r() * r()))},` +
    `"net_tx_bytes_per_sec":${round2(net * (0.05 + r() * r()))}}`
  );
}

/** Per OS family (index of OS_FAMILIES); comma-separated because some macOS names contain spaces. */
const PROCESS_NAMES: readonly (readonly string[])[] = [
  'svchost.exe,chrome.exe,MsMpEng.exe,explorer.exe,Teams.exe,OUTLOOK.EXE,msedge.exe,dwm.exe,SearchIndexer.exe,' +
    'OneDrive.exe,EXCEL.EXE,WINWORD.EXE,csrss.exe,lsass.exe,RuntimeBroker.exe,spoolsv.exe,Code.exe,Zoom.exe,' +
    'WmiPrvSE.exe,kanade-agent.exe',
  'systemd,chrome,firefox,gnome-shell,Xorg,pipewire,code,java,node,python3,dockerd,containerd,sshd,journald,' +
    'NetworkManager,snapd,thunderbird,slack,zoom,kanade-agent',
  'WindowServer,kernel_task,Safari,Google Chrome,mds_stores,Finder,Dock,Mail,Microsoft Teams,Slack,Code Helper,' +
    'launchd,cloudd,bird,photoanalysisd,Spotlight,zoom.us,Microsoft Outlook,softwareupdated,kanade-agent',
].map((list) => list.split(','));

let cpuScratch = new Float64Array(32);

/**
 * Top-N processes, CPU descending (percent of one core, as upstream). The
 * busiest processes together use about the host's current CPU; names rotate
 * per agent so the fleet does not look cloned.
 */
export function processPerfJson(f: Fleet, i: number, pcId: string, at: string, topN: number): string {
  const r = f.rng;
  if (cpuScratch.length < topN) cpuScratch = new Float64Array(topN);
  const cpu = cpuScratch.subarray(0, topN);
  let remaining = f.cpuPct[i]! * f.cpuCount[i]!;
  for (let k = 0; k < topN; k++) {
    const share = remaining * (0.2 + 0.5 * r());
    cpu[k] = share;
    remaining -= share;
  }
  cpu.sort();
  const names = PROCESS_NAMES[f.os[i]!]!;
  const start = hash32(f.seed, i) % names.length;
  let body = `{"pc_id":"${pcId}","at":"${at}","processes":[`;
  for (let k = 0; k < topN; k++) {
    const slot = start + k;
    const name = k < names.length ? names[slot % names.length] : `worker-${k}`;
    const pid = 100 + (hash32(i, slot) % 65_000);
    body +=
      `${k === 0 ? '' : ','}{"pid":${pid},"name":"${name}","cpu_pct":${round2(cpu[topN - 1 - k]!)},` +
      `"rss_bytes":${Math.round((10 + 700 * r() * r()) * 1024 * 1024)},` +
      `"disk_read_bytes_per_sec":${round2(50_000 * r() * r())},` +
      `"disk_written_bytes_per_sec":${round2(20_000 * r() * r())}}`;
  }
  return `${body}]}`;
}
