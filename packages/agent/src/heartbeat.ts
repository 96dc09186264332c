// Builds the upstream Heartbeat body. Only fields this agent knows are set:
// command_keys and command_protocols stay absent ("unknown" on the wire) until
// the agent executes commands, so the backend never assumes it can verify or
// unwrap signed envelopes.

import type { Heartbeat } from '@kanade/wire';
import type { Identity } from './identity.js';
import type { SelfUsage } from './self-usage.js';

export function buildHeartbeat(
  id: Identity,
  self: SelfUsage,
  at: string,
  lastLogonUser: string | null,
): Heartbeat {
  return {
    pc_id: id.pcId,
    at,
    agent_version: id.agentVersion,
    hostname: id.hostname,
    os_family: id.osFamily,
    agent_cpu_pct: self.cpuPct,
    agent_rss_bytes: self.rssBytes,
    agent_disk_read_bytes: self.diskReadBytes,
    agent_disk_written_bytes: self.diskWrittenBytes,
    last_logon_user: lastLogonUser,
  };
}
