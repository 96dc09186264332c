// heartbeat.> -> agents. Telemetry shape, keyed by pc_id: a window keeps only
// the newest beat per agent (at 100,000 agents every 30 s that is ~3,300
// upserts per one-second transaction). Field-merge rules live in the store.
import { checkShape, HEARTBEAT_SHAPE, type Heartbeat, parseRfc3339 } from '@kanade/wire';
import type { HeartbeatRow } from '../store/agents.js';
import type { TelemetryProjector } from './telemetry.js';

const jsonList = (v: string[] | null | undefined, keepEmpty: boolean): string | null =>
  v === null || v === undefined || (!keepEmpty && v.length === 0) ? null : JSON.stringify(v);

export const heartbeatProjector: TelemetryProjector<HeartbeatRow> = {
  name: 'heartbeat',
  subject: 'heartbeat.>',
  decode(payload) {
    const problem = checkShape(HEARTBEAT_SHAPE, payload);
    if (problem !== null) return { invalid: problem };
    const r = { data: payload as Heartbeat };
    const b = r.data;
    return {
      pc_id: b.pc_id,
      last_heartbeat: parseRfc3339(b.at),
      agent_version: b.agent_version,
      hostname: b.hostname ?? null,
      os_family: b.os_family ?? null,
      agent_cpu_pct: b.agent_cpu_pct ?? null,
      agent_rss_bytes: b.agent_rss_bytes ?? null,
      agent_disk_read_bytes: b.agent_disk_read_bytes ?? null,
      agent_disk_written_bytes: b.agent_disk_written_bytes ?? null,
      quarantined_versions: jsonList(b.quarantined_versions, false),
      last_logon_user: b.last_logon_user ?? null,
      last_logon_display_name: b.last_logon_display_name ?? null,
      command_keys: jsonList(b.command_keys, true),
      enforcing: b.enforcing === undefined || b.enforcing === null ? null : b.enforcing ? 1 : 0,
      command_protocols: jsonList(b.command_protocols, true),
    };
  },
  key: (r) => r.pc_id,
  order: (r) => r.last_heartbeat,
  write: (store, rows, now) => store.agents.upsertHeartbeats(rows, now),
};
