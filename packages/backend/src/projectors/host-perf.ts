// host_perf.> -> host_perf_samples (+ the fleet per-minute rollup). Telemetry
// shape, append-only. `at` is floored to the second: (pc_id, at) is the key,
// and a re-published sample (agent restart) is dropped by ON CONFLICT DO NOTHING.
// Gauges are clamped (telemetry.ts, GAUGE_LIMIT) so fleet sums cannot overflow.
import { checkShape, HOST_PERF_SHAPE, type HostPerf, parseRfc3339 } from '@kanade/wire';
import type { HostPerfRow } from '../store/perf.js';
import { gauge, type TelemetryProjector } from './telemetry.js';

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
      cpu_pct: gauge(s.cpu_pct),
      cpu_count: s.cpu_count ?? null,
      mem_used_bytes: gauge(s.mem_used_bytes),
      mem_total_bytes: gauge(s.mem_total_bytes),
      swap_used_bytes: gauge(s.swap_used_bytes),
      swap_total_bytes: gauge(s.swap_total_bytes),
      disk_read_bytes_per_sec: gauge(s.disk_read_bytes_per_sec),
      disk_written_bytes_per_sec: gauge(s.disk_written_bytes_per_sec),
      net_rx_bytes_per_sec: gauge(s.net_rx_bytes_per_sec),
      net_tx_bytes_per_sec: gauge(s.net_tx_bytes_per_sec),
    };
  },
  write: (store, rows) => store.perf.insertHostPerf(rows),
};
