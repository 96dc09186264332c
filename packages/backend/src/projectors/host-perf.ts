// host_perf.> -> host_perf_samples (+ the fleet per-minute rollup). Telemetry
// shape, append-only. `at` is floored to the second: (pc_id, at) is the key,
// and a re-published sample (agent restart) is dropped by ON CONFLICT DO NOTHING.
import { checkShape, HOST_PERF_SHAPE, type HostPerf, parseRfc3339 } from '@kanade/wire';
import type { HostPerfRow } from '../store/perf.js';
import type { TelemetryProjector } from './telemetry.js';

export const hostPerfProjector: TelemetryProjector<HostPerfRow> = {
  name: 'host_perf',
  subject: 'host_perf.>',
  decode(payload) {
    const problem = checkShape(HOST_PERF_SHAPE, payload);
    if (problem !== null) return { invalid: problem };
    const r = { data: payload as HostPerf };
    const s = r.data;
    const at = parseRfc3339(s.at);
    return {
      pc_id: s.pc_id,
      at: at - (((at % 1000) + 1000) % 1000),
      cpu_pct: s.cpu_pct ?? null,
      cpu_count: s.cpu_count ?? null,
      mem_used_bytes: s.mem_used_bytes ?? null,
      mem_total_bytes: s.mem_total_bytes ?? null,
      swap_used_bytes: s.swap_used_bytes ?? null,
      swap_total_bytes: s.swap_total_bytes ?? null,
      disk_read_bytes_per_sec: s.disk_read_bytes_per_sec ?? null,
      disk_written_bytes_per_sec: s.disk_written_bytes_per_sec ?? null,
      net_rx_bytes_per_sec: s.net_rx_bytes_per_sec ?? null,
      net_tx_bytes_per_sec: s.net_tx_bytes_per_sec ?? null,
    };
  },
  write: (store, rows) => store.perf.insertHostPerf(rows),
};
