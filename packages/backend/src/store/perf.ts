// Host and process performance samples: the append-only inserts of the
// telemetry projectors, the fleet-wide per-minute rollup they maintain, and
// the bucketed queries behind the perf endpoints (averages computed in SQL).
import { toRfc3339 } from '@kanade/wire';
import type { Db } from './db.js';
import { totalChanges } from './dialect.js';

export interface HostPerfRow {
  pc_id: string;
  /** epoch ms, floored to the second: one sample per host per second */
  at: number;
  cpu_pct: number | null;
  cpu_count: number | null;
  mem_used_bytes: number | null;
  mem_total_bytes: number | null;
  swap_used_bytes: number | null;
  swap_total_bytes: number | null;
  disk_read_bytes_per_sec: number | null;
  disk_written_bytes_per_sec: number | null;
  net_rx_bytes_per_sec: number | null;
  net_tx_bytes_per_sec: number | null;
}

export interface ProcessPerfRow {
  pc_id: string;
  at: number;
  pid: number;
  name: string;
  cpu_pct: number;
  rss_bytes: number;
  disk_read_bytes_per_sec: number | null;
  disk_written_bytes_per_sec: number | null;
}

/** Fleet metrics: API name -> (sample column, rollup column prefix). */
export const FLEET_METRICS = {
  cpu_pct: ['cpu_pct', 'cpu_pct'],
  mem_used_bytes: ['mem_used_bytes', 'mem_used'],
  mem_total_bytes: ['mem_total_bytes', 'mem_total'],
  disk_read_bytes_per_sec: ['disk_read_bytes_per_sec', 'disk_read'],
  disk_written_bytes_per_sec: ['disk_written_bytes_per_sec', 'disk_written'],
  net_rx_bytes_per_sec: ['net_rx_bytes_per_sec', 'net_rx'],
  net_tx_bytes_per_sec: ['net_tx_bytes_per_sec', 'net_tx'],
} as const;
export type FleetMetric = keyof typeof FLEET_METRICS;
export const FLEET_METRIC_NAMES = Object.keys(FLEET_METRICS) as FleetMetric[];

const ROLLUP_KEYS = Object.values(FLEET_METRICS).map(([, prefix]) => prefix);
const SAMPLE_KEYS = Object.values(FLEET_METRICS).map(([col]) => col);

interface Rollup {
  samples: number;
  sum: number[];
  n: number[];
  max: (number | null)[];
}

const HOST_PERF_POINT_COLUMNS = [
  'cpu_pct',
  'mem_used_bytes',
  'mem_total_bytes',
  'swap_used_bytes',
  'swap_total_bytes',
  'disk_read_bytes_per_sec',
  'disk_written_bytes_per_sec',
  'net_rx_bytes_per_sec',
  'net_tx_bytes_per_sec',
] as const;

export type HostPerfPoint = { at: string } & Record<(typeof HOST_PERF_POINT_COLUMNS)[number], number | null>;

export function createPerfStore(db: Db) {
  const insertHost = db.prepare(
    `INSERT INTO host_perf_samples (pc_id, at, cpu_pct, cpu_count, mem_used_bytes, mem_total_bytes,
       swap_used_bytes, swap_total_bytes, disk_read_bytes_per_sec, disk_written_bytes_per_sec,
       net_rx_bytes_per_sec, net_tx_bytes_per_sec)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (pc_id, at) DO NOTHING`,
  );
  const rollupSet = ROLLUP_KEYS.map(
    (k) => `${k}_sum = f.${k}_sum + excluded.${k}_sum, ${k}_n = f.${k}_n + excluded.${k}_n,
      ${k}_max = CASE WHEN f.${k}_max IS NULL OR excluded.${k}_max > f.${k}_max THEN excluded.${k}_max ELSE f.${k}_max END`,
  ).join(',\n');
  const upsertRollup = db.prepare(
    `INSERT INTO fleet_perf_minutes AS f (minute, samples, ${ROLLUP_KEYS.map((k) => `${k}_sum, ${k}_n, ${k}_max`).join(', ')})
     VALUES (?, ?, ${ROLLUP_KEYS.map(() => '?, ?, ?').join(', ')})
     ON CONFLICT (minute) DO UPDATE SET samples = f.samples + excluded.samples, ${rollupSet}`,
  );
  const insertProcess = db.prepare(
    `INSERT INTO process_perf_samples (pc_id, at, pid, name, cpu_pct, rss_bytes,
       disk_read_bytes_per_sec, disk_written_bytes_per_sec)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (pc_id, at, pid) DO NOTHING`,
  );
  const hostBuckets = db.prepare<[number, number, string, number, number], Record<string, number | null>>(
    `SELECT CAST((at - ?) / ? AS INTEGER) AS b, ${HOST_PERF_POINT_COLUMNS.map((c) => `AVG(${c}) AS ${c}`).join(', ')}
     FROM host_perf_samples WHERE pc_id = ? AND at >= ? AND at < ?
     GROUP BY b ORDER BY b`,
  );
  const latestProcessAt = db.prepare<[string], { at: number | null }>(
    'SELECT MAX(at) AS at FROM process_perf_samples WHERE pc_id = ?',
  );
  const processesAt = db.prepare<[string, number], ProcessPerfRow>(
    'SELECT * FROM process_perf_samples WHERE pc_id = ? AND at = ? ORDER BY cpu_pct DESC, pid',
  );

  return {
    /** Insert one window of samples (caller owns the transaction); duplicates are skipped and not rolled up. */
    insertHostPerf(rows: readonly HostPerfRow[]): number {
      const minutes = new Map<number, Rollup>();
      let inserted = 0;
      // Every insert is issued before any result is read (totalChanges in dialect.ts says why).
      const results = rows.map((r) =>
        insertHost.run(
          r.pc_id,
          r.at,
          r.cpu_pct,
          r.cpu_count,
          r.mem_used_bytes,
          r.mem_total_bytes,
          r.swap_used_bytes,
          r.swap_total_bytes,
          r.disk_read_bytes_per_sec,
          r.disk_written_bytes_per_sec,
          r.net_rx_bytes_per_sec,
          r.net_tx_bytes_per_sec,
        ),
      );
      for (const [k, r] of rows.entries()) {
        if (results[k]!.changes === 0) continue;
        inserted++;
        const minute = r.at - (r.at % 60_000);
        let agg = minutes.get(minute);
        if (!agg) {
          agg = {
            samples: 0,
            sum: SAMPLE_KEYS.map(() => 0),
            n: SAMPLE_KEYS.map(() => 0),
            max: SAMPLE_KEYS.map(() => null),
          };
          minutes.set(minute, agg);
        }
        agg.samples++;
        for (let i = 0; i < SAMPLE_KEYS.length; i++) {
          const v = r[SAMPLE_KEYS[i]!];
          if (v === null) continue;
          agg.sum[i]! += v;
          agg.n[i]!++;
          const m = agg.max[i]!;
          if (m === null || v > m) agg.max[i] = v;
        }
      }
      for (const [minute, agg] of minutes) {
        const params: unknown[] = [minute, agg.samples];
        for (let i = 0; i < SAMPLE_KEYS.length; i++) params.push(agg.sum[i], agg.n[i], agg.max[i]);
        upsertRollup.run(...params);
      }
      return inserted;
    },

    insertProcessPerf(rows: readonly ProcessPerfRow[]): number {
      return totalChanges(
        rows.map((r) =>
          insertProcess.run(
            r.pc_id,
            r.at,
            r.pid,
            r.name,
            r.cpu_pct,
            r.rss_bytes,
            r.disk_read_bytes_per_sec,
            r.disk_written_bytes_per_sec,
          ),
        ),
      );
    },

    /** Per-host buckets of `stepMs` from `from` (inclusive) to `to` (exclusive); empty buckets are left out. */
    hostPerf(pcId: string, from: number, to: number, stepMs: number): HostPerfPoint[] {
      return hostBuckets.all(from, stepMs, pcId, from, to).map((row) => {
        const point = { at: toRfc3339(from + Number(row.b) * stepMs) } as HostPerfPoint;
        for (const c of HOST_PERF_POINT_COLUMNS) point[c] = row[c] ?? null;
        return point;
      });
    },

    /** Fleet-wide series from the per-minute rollup. */
    fleet(metric: FleetMetric, agg: 'avg' | 'max', from: number, to: number, stepMs: number) {
      const k = FLEET_METRICS[metric][1];
      const expr = agg === 'avg' ? `SUM(${k}_sum) / NULLIF(SUM(${k}_n), 0)` : `MAX(${k}_max)`;
      const rows = db
        .prepare<[number, number, number, number], { b: number; value: number | null }>(
          `SELECT CAST((minute - ?) / ? AS INTEGER) AS b, ${expr} AS value FROM fleet_perf_minutes
           WHERE minute >= ? AND minute < ? GROUP BY b ORDER BY b`,
        )
        .all(from, stepMs, from, to);
      return rows.map((r) => ({ at: toRfc3339(from + r.b * stepMs), value: r.value }));
    },

    /** Hosts with the highest average of `metric` over samples at or after `since`. */
    top(metric: FleetMetric, since: number, limit: number) {
      const col = FLEET_METRICS[metric][0];
      return db
        .prepare<[number, number], { pc_id: string; hostname: string | null; value: number }>(
          `SELECT s.pc_id, a.hostname, s.value FROM (
             SELECT pc_id, AVG(${col}) AS value FROM host_perf_samples
             WHERE at >= ? AND ${col} IS NOT NULL GROUP BY pc_id ORDER BY value DESC LIMIT ?
           ) s LEFT JOIN agents a ON a.pc_id = s.pc_id ORDER BY s.value DESC, s.pc_id`,
        )
        .all(since, limit);
    },

    latestProcesses(pcId: string) {
      const latest = latestProcessAt.get(pcId)?.at ?? null;
      if (latest === null) return { latest_at: null, processes: [] };
      return {
        latest_at: toRfc3339(latest),
        processes: processesAt.all(pcId, latest).map(({ pc_id: _pc, at: _at, ...p }) => p),
      };
    },
  };
}
export type PerfStore = ReturnType<typeof createPerfStore>;
