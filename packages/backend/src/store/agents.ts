// The `agents` registry: heartbeat upserts (upstream's field-merge rules) and
// the roster queries behind /api/agents. Sorting and paging happen in SQL on
// indexed columns so the first page stays fast at 100,000 agents.
import { ONLINE_THRESHOLD_MS, toRfc3339 } from '@kanade/wire';
import { META_SORT_SQL, type MetaFilter, metaFilterSql } from './agent-meta.js';
import type { Db } from './db.js';

/** One heartbeat, normalised for the database (times in epoch ms, arrays as JSON text). */
export interface HeartbeatRow {
  pc_id: string;
  last_heartbeat: number;
  agent_version: string;
  hostname: string | null;
  os_family: string | null;
  agent_cpu_pct: number | null;
  agent_rss_bytes: number | null;
  agent_disk_read_bytes: number | null;
  agent_disk_written_bytes: number | null;
  quarantined_versions: string | null;
  last_logon_user: string | null;
  last_logon_display_name: string | null;
  command_keys: string | null;
  enforcing: number | null;
  command_protocols: string | null;
}

// hostname / os_family keep the stored value when a beat omits them; the
// display name only changes when the beat names a user; the three-state
// fields (command_keys, enforcing, command_protocols) keep the stored value
// when the beat says nothing (NULL) but take an explicit [] or false.
const UPSERT_SQL = `
INSERT INTO agents (pc_id, last_heartbeat, agent_version, hostname, os_family, updated_at,
  agent_cpu_pct, agent_rss_bytes, agent_disk_read_bytes, agent_disk_written_bytes,
  quarantined_versions, last_logon_user, last_logon_display_name, command_keys, enforcing, command_protocols)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (pc_id) DO UPDATE SET
  last_heartbeat = excluded.last_heartbeat,
  agent_version = excluded.agent_version,
  hostname = COALESCE(excluded.hostname, agents.hostname),
  os_family = COALESCE(excluded.os_family, agents.os_family),
  updated_at = excluded.updated_at,
  agent_cpu_pct = excluded.agent_cpu_pct,
  agent_rss_bytes = excluded.agent_rss_bytes,
  agent_disk_read_bytes = excluded.agent_disk_read_bytes,
  agent_disk_written_bytes = excluded.agent_disk_written_bytes,
  quarantined_versions = excluded.quarantined_versions,
  last_logon_user = COALESCE(excluded.last_logon_user, agents.last_logon_user),
  last_logon_display_name = CASE WHEN excluded.last_logon_user IS NOT NULL
    THEN excluded.last_logon_display_name ELSE agents.last_logon_display_name END,
  command_keys = COALESCE(excluded.command_keys, agents.command_keys),
  enforcing = COALESCE(excluded.enforcing, agents.enforcing),
  command_protocols = COALESCE(excluded.command_protocols, agents.command_protocols)`;

export const AGENT_SORT_COLUMNS = [
  'pc_id',
  'hostname',
  'os_family',
  'agent_version',
  'last_heartbeat',
  'last_logon_user',
  'updated_at',
] as const;
export type AgentSort = (typeof AGENT_SORT_COLUMNS)[number];

export interface AgentFilter {
  /** Regex over pc_id or hostname. */
  q?: string;
  /** Regex over last_logon_user or display name. */
  user?: string;
  /** Regex over agent_version. */
  version?: string;
  /** Exact token in quarantined_versions. */
  quarantined?: string;
  status?: 'online' | 'offline';
  /** `meta.<key>.<op>=` filters (ANDed). */
  meta?: MetaFilter[];
}

export interface AgentListQuery extends AgentFilter {
  sort: AgentSort;
  /** `sort=meta:<key>`: order by that agent_meta value instead of `sort`. */
  metaSort?: string;
  dir: 'asc' | 'desc';
  limit: number;
  offset: number;
  now: number;
}

interface AgentDbRow {
  pc_id: string;
  hostname: string | null;
  last_heartbeat: number | null;
  agent_version: string | null;
  os_family: string | null;
  updated_at: number;
  agent_cpu_pct: number | null;
  agent_rss_bytes: number | null;
  agent_disk_read_bytes: number | null;
  agent_disk_written_bytes: number | null;
  quarantined_versions: string | null;
  last_logon_user: string | null;
  last_logon_display_name: string | null;
  command_keys: string | null;
  enforcing: number | null;
  nats_user: string | null;
  nats_user_since: number | null;
  command_protocols: string | null;
}

export interface AgentView {
  pc_id: string;
  hostname: string | null;
  os_family: string | null;
  agent_version: string | null;
  last_heartbeat: string | null;
  updated_at: string;
  online: boolean;
  agent_cpu_pct: number | null;
  agent_rss_bytes: number | null;
  agent_disk_read_bytes: number | null;
  agent_disk_written_bytes: number | null;
  quarantined_versions?: string[];
  last_logon_user: string | null;
  last_logon_display_name: string | null;
  command_keys?: string[];
  enforcing?: boolean;
  nats_user?: string;
  nats_user_since?: string;
  command_protocols?: string[];
}

function jsonList(text: string | null): string[] | undefined {
  if (text === null) return undefined;
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.map(String) : undefined;
  } catch {
    return undefined;
  }
}

function toView(r: AgentDbRow, now: number): AgentView {
  const view: AgentView = {
    pc_id: r.pc_id,
    hostname: r.hostname,
    os_family: r.os_family,
    agent_version: r.agent_version,
    last_heartbeat: r.last_heartbeat === null ? null : toRfc3339(r.last_heartbeat),
    updated_at: toRfc3339(r.updated_at),
    online: r.last_heartbeat !== null && r.last_heartbeat >= now - ONLINE_THRESHOLD_MS,
    agent_cpu_pct: r.agent_cpu_pct,
    agent_rss_bytes: r.agent_rss_bytes,
    agent_disk_read_bytes: r.agent_disk_read_bytes,
    agent_disk_written_bytes: r.agent_disk_written_bytes,
    last_logon_user: r.last_logon_user,
    last_logon_display_name: r.last_logon_display_name,
  };
  const quarantined = jsonList(r.quarantined_versions);
  if (quarantined?.length) view.quarantined_versions = quarantined;
  const keys = jsonList(r.command_keys);
  if (keys) view.command_keys = keys;
  if (r.enforcing !== null) view.enforcing = r.enforcing === 1;
  if (r.nats_user !== null) view.nats_user = r.nats_user;
  if (r.nats_user_since !== null) view.nats_user_since = toRfc3339(r.nats_user_since);
  const protocols = jsonList(r.command_protocols);
  if (protocols) view.command_protocols = protocols;
  return view;
}

function whereClause(f: AgentFilter, now: number, withStatus: boolean): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (f.q) {
    parts.push('(pc_id REGEXP ? OR hostname REGEXP ?)');
    params.push(f.q, f.q);
  }
  if (f.user) {
    parts.push('(last_logon_user REGEXP ? OR last_logon_display_name REGEXP ?)');
    params.push(f.user, f.user);
  }
  if (f.version) {
    parts.push('agent_version REGEXP ?');
    params.push(f.version);
  }
  if (f.quarantined) {
    parts.push("quarantined_versions LIKE ? ESCAPE '\\'");
    params.push(`%${JSON.stringify(f.quarantined).replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  for (const m of f.meta ?? []) {
    const c = metaFilterSql(m);
    parts.push(c.sql);
    params.push(...c.params);
  }
  if (withStatus && f.status) {
    parts.push(
      f.status === 'online' ? 'last_heartbeat >= ?' : '(last_heartbeat IS NULL OR last_heartbeat < ?)',
    );
    params.push(now - ONLINE_THRESHOLD_MS);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export function createAgentStore(db: Db) {
  const upsert = db.prepare(UPSERT_SQL);
  const byId = db.prepare<[string], AgentDbRow>('SELECT * FROM agents WHERE pc_id = ?');
  const versions = db.prepare<[number], { version: string | null; total: number; active: number }>(
    `SELECT agent_version AS version, COUNT(*) AS total,
            COALESCE(SUM(CASE WHEN last_heartbeat >= ? THEN 1 ELSE 0 END), 0) AS active
     FROM agents GROUP BY agent_version ORDER BY total DESC, version`,
  );
  const counts = db.prepare<[number], { known: number; active: number }>(
    `SELECT COUNT(*) AS known, COALESCE(SUM(CASE WHEN last_heartbeat >= ? THEN 1 ELSE 0 END), 0) AS active FROM agents`,
  );
  const hostnames = db.prepare<[], { pc_id: string; hostname: string | null }>(
    'SELECT pc_id, hostname FROM agents',
  );
  const lastHeartbeats = db.prepare<[], { pc_id: string; last_heartbeat: number }>(
    'SELECT pc_id, last_heartbeat FROM agents WHERE last_heartbeat IS NOT NULL',
  );

  return {
    /** Upsert one window of heartbeats (caller owns the transaction). */
    upsertHeartbeats(rows: Iterable<HeartbeatRow>, now: number): number {
      let n = 0;
      for (const r of rows) {
        upsert.run(
          r.pc_id,
          r.last_heartbeat,
          r.agent_version,
          r.hostname,
          r.os_family,
          now,
          r.agent_cpu_pct,
          r.agent_rss_bytes,
          r.agent_disk_read_bytes,
          r.agent_disk_written_bytes,
          r.quarantined_versions,
          r.last_logon_user,
          r.last_logon_display_name,
          r.command_keys,
          r.enforcing,
          r.command_protocols,
        );
        n++;
      }
      return n;
    },

    get(pcId: string, now: number): AgentView | undefined {
      const r = byId.get(pcId);
      return r ? toView(r, now) : undefined;
    },

    /** One page plus the counts behind X-Total-Count / X-Online-Count / X-Offline-Count. */
    list(q: AgentListQuery): { rows: AgentView[]; total: number; online: number; offline: number } {
      const cutoff = q.now - ONLINE_THRESHOLD_MS;
      const base = whereClause(q, q.now, false);
      const c = db
        .prepare<unknown[], { all: number; online: number }>(
          `SELECT COUNT(*) AS "all", COALESCE(SUM(CASE WHEN last_heartbeat >= ? THEN 1 ELSE 0 END), 0) AS online
           FROM agents ${base.sql}`,
        )
        .get(cutoff, ...base.params)!;
      const total = q.status === 'online' ? c.online : q.status === 'offline' ? c.all - c.online : c.all;
      const page = whereClause(q, q.now, true);
      const dir = q.dir === 'desc' ? 'DESC' : 'ASC';
      const order = q.metaSort === undefined ? q.sort : META_SORT_SQL;
      const orderParams = q.metaSort === undefined ? [] : [q.metaSort];
      const rows = db
        .prepare<unknown[], AgentDbRow>(
          `SELECT * FROM agents ${page.sql} ORDER BY ${order} ${dir}, pc_id ${dir} LIMIT ? OFFSET ?`,
        )
        .all(...page.params, ...orderParams, q.limit, q.offset);
      return { rows: rows.map((r) => toView(r, q.now)), total, online: c.online, offline: c.all - c.online };
    },

    versions(now: number) {
      return versions.all(now - ONLINE_THRESHOLD_MS);
    },

    counts(now: number): { known: number; active: number } {
      return counts.get(now - ONLINE_THRESHOLD_MS)!;
    },

    hostnames(): Map<string, string | null> {
      return new Map(hostnames.all().map((r) => [r.pc_id, r.hostname]));
    },

    /** Every agent's last heartbeat (the watchdog's input). */
    lastHeartbeats(): { pc_id: string; last_heartbeat: number }[] {
      return lastHeartbeats.all();
    },
  };
}
export type AgentStore = ReturnType<typeof createAgentStore>;
