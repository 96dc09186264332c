// process_perf.> -> process_perf_samples. Telemetry shape; one message is one
// top-N snapshot of a host, written as one row per process. Empty snapshots
// are skipped. Key (pc_id, at, pid); duplicates are dropped.
import { checkShape, PROCESS_PERF_SHAPE, type ProcessPerf, parseRfc3339 } from '@kanade/wire';
import type { ProcessPerfRow } from '../store/perf.js';
import { gauge, type TelemetryProjector } from './telemetry.js';

export const processPerfProjector: TelemetryProjector<ProcessPerfRow[]> = {
  name: 'process_perf',
  subject: 'process_perf.>',
  decode(payload) {
    const problem = checkShape(PROCESS_PERF_SHAPE, payload);
    if (problem !== null) return { invalid: problem };
    const r = { data: payload as ProcessPerf };
    const at = parseRfc3339(r.data.at);
    const second = at - (((at % 1000) + 1000) % 1000);
    return r.data.processes.map((p) => ({
      pc_id: r.data.pc_id,
      at: second,
      pid: p.pid,
      name: p.name,
      cpu_pct: gauge(p.cpu_pct)!,
      rss_bytes: gauge(p.rss_bytes)!,
      disk_read_bytes_per_sec: gauge(p.disk_read_bytes_per_sec),
      disk_written_bytes_per_sec: gauge(p.disk_written_bytes_per_sec),
    }));
  },
  write: (store, snapshots) => store.perf.insertProcessPerf(snapshots.flat()),
};
